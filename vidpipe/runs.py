"""Finished processing runs: what each cost (recorded by the poller with the final status), and
the console's figures computed from them (runs per hour, processing time, cost per day)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidpipe import costs
from vidpipe.db.models import Video, VideoRun, utcnow
from vidpipe.settings import Settings

# The job's result fields (docs/messages.md, "Job result") -> VideoRun columns.
USAGE_FIELDS = (
    "wall_seconds",
    "cpu_seconds",
    "peak_memory_mb",
    "input_bytes",
    "output_bytes",
    "task_vcpu",
    "task_memory_gb",
)


def usage_cost(usage: dict[str, Any], settings: Settings) -> float | None:
    """The estimated price of a run from the job's figures; None when they are incomplete."""
    wall, vcpu, memory = (usage.get(k) for k in ("wall_seconds", "task_vcpu", "task_memory_gb"))
    if wall is None or vcpu is None or memory is None:
        return None
    return costs.estimate_usd(wall, vcpu, memory, settings)


def record(
    session: Session,
    video: Video,
    status: str,
    settings: Settings,
    result: dict[str, Any] | None = None,
) -> VideoRun:
    """The run row of the video's current attempt, created or brought up to date (a status
    message delivered twice records one run). The caller commits."""
    run = session.scalar(
        select(VideoRun).where(VideoRun.video_id == video.id, VideoRun.attempt == video.attempt)
    )
    if run is None:
        run = VideoRun(video_id=video.id, attempt=video.attempt)
        session.add(run)
    if run.status != status:
        run.status = status
        run.finished_at = utcnow()
    run.started_at = video.processing_at
    usage = result or {}
    for field in USAGE_FIELDS:
        if usage.get(field) is not None:
            setattr(run, field, usage[field])
    run.cost_usd = usage_cost({f: getattr(run, f) for f in USAGE_FIELDS}, settings)
    return run


def for_video(session: Session, video_id) -> list[VideoRun]:
    return list(
        session.scalars(
            select(VideoRun).where(VideoRun.video_id == video_id).order_by(VideoRun.attempt)
        )
    )


def as_dict(run: VideoRun) -> dict[str, Any]:
    return {
        "attempt": run.attempt,
        "status": run.status,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat(),
        "processing_seconds": run.processing_seconds,
        "cost_usd": run.cost_usd,
        **{field: getattr(run, field) for field in USAGE_FIELDS},
    }


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in 0..100."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def histogram(values: list[float], buckets: int = 12) -> list[dict[str, float]]:
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:  # one value (or all equal): a one-second range around it
        low, high = low - 0.5, high + 0.5
    width = (high - low) / buckets
    counts = [0] * buckets
    for value in values:
        counts[min(int((value - low) / width), buckets - 1)] += 1
    return [
        {"start": low + i * width, "end": low + (i + 1) * width, "count": count}
        for i, count in enumerate(counts)
    ]


def stats(
    session: Session, *, hours: int = 24, days: int = 14, now: datetime | None = None
) -> dict[str, Any]:
    """Runs processed and failed per hour (the last `hours`), the processing time of processed
    runs (p50, p95, histogram) and the estimated cost per day (the last `days`), all UTC."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    first_hour = this_hour - timedelta(hours=hours - 1)
    today = this_hour.replace(hour=0)
    first_day = today - timedelta(days=days - 1)
    runs = session.scalars(
        select(VideoRun).where(VideoRun.finished_at >= min(first_hour, first_day))
    ).all()

    hourly = {first_hour + timedelta(hours=i): {"processed": 0, "failed": 0} for i in range(hours)}
    daily = {first_day + timedelta(days=i): {"runs": 0, "cost_usd": 0.0} for i in range(days)}
    durations = []
    for run in runs:
        finished = run.finished_at.astimezone(UTC)
        hour = finished.replace(minute=0, second=0, microsecond=0)
        if hour in hourly and run.status in ("processed", "failed"):
            hourly[hour][run.status] += 1
        day = hour.replace(hour=0)
        if day in daily:
            daily[day]["runs"] += 1
            daily[day]["cost_usd"] += run.cost_usd or 0.0
            if run.status == "processed" and run.processing_seconds is not None:
                durations.append(run.processing_seconds)
    return {
        "hourly": [{"hour": h.isoformat(), **counts} for h, counts in hourly.items()],
        "processing_seconds": {
            "count": len(durations),
            "p50": percentile(durations, 50),
            "p95": percentile(durations, 95),
            "histogram": histogram(durations),
        },
        "cost_per_day": [
            {"day": d.date().isoformat(), "runs": v["runs"], "cost_usd": round(v["cost_usd"], 6)}
            for d, v in daily.items()
        ],
    }
