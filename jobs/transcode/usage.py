"""What a run used, for its cost (docs/costs.md): wall and CPU seconds, peak memory, bytes in and
out, and the task's size (vCPU, memory) that Fargate bills."""

from __future__ import annotations

import json
import logging
import os
import resource
import time
import urllib.request
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Set by Fargate (platform 1.4+) in every container: the task's metadata, with its CPU and memory.
METADATA_ENV = "ECS_CONTAINER_METADATA_URI_V4"


def _cpu_seconds() -> float:
    """CPU time of this process and of its waited-for children (ffprobe, ffmpeg, the poster)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _peak_memory_mb() -> float:
    """The larger of this process's and its largest child's peak RSS (Linux reports KiB)."""
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    kib = max(resource.getrusage(w).ru_maxrss for w in who)
    return round(kib / 1024, 1)


def task_size(default_vcpu: float, default_memory_gb: float) -> tuple[float, float]:
    """(vCPU, GB) the task was given: the ECS task metadata's Limits in Fargate, else the
    settings (the local runner has no metadata endpoint)."""
    base = os.environ.get(METADATA_ENV)
    if base:
        try:
            with urllib.request.urlopen(f"{base}/task", timeout=2) as answer:
                limits = json.load(answer).get("Limits") or {}
            return float(limits["CPU"]), float(limits["Memory"]) / 1024
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("task metadata unreadable (%s): using the configured task size", exc)
    return default_vcpu, default_memory_gb


@dataclass
class Usage:
    """Started when the job starts; `figures()` at the end, for the job's result."""

    start_wall: float = field(default_factory=time.monotonic)
    start_cpu: float = field(default_factory=_cpu_seconds)
    input_bytes: int | None = None
    output_bytes: int | None = None

    def figures(self, task_vcpu: float, task_memory_gb: float) -> dict[str, float | int | None]:
        return {
            "wall_seconds": round(time.monotonic() - self.start_wall, 3),
            "cpu_seconds": round(_cpu_seconds() - self.start_cpu, 3),
            "peak_memory_mb": _peak_memory_mb(),
            "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes,
            "task_vcpu": task_vcpu,
            "task_memory_gb": task_memory_gb,
        }
