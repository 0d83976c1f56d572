"""What a transcode run cost: the estimated Fargate price of the task that ran it.

Fargate bills the task's requested vCPU and memory per second, with a one-minute minimum, from
the image pull until the task stops. The job measures its own wall time (the image pull and the
task start-up are not in it), so the estimate is a lower bound of the bill; the prices are
settings (`VIDPIPE_FARGATE_VCPU_HOUR_USD`, `VIDPIPE_FARGATE_GB_HOUR_USD`, docs/costs.md).
"""

from __future__ import annotations

from vidpipe.settings import Settings

MINIMUM_BILLED_SECONDS = 60


def estimate_usd(wall_seconds: float, vcpu: float, memory_gb: float, settings: Settings) -> float:
    billed = max(float(wall_seconds), MINIMUM_BILLED_SECONDS)
    per_hour = vcpu * settings.fargate_vcpu_hour_usd + memory_gb * settings.fargate_gb_hour_usd
    return round(billed * per_hour / 3600, 6)
