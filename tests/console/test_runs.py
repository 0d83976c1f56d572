"""vidpipe.runs: one recorded run per attempt with its cost; the console's figures from them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vidpipe import runs
from vidpipe.db.models import VideoRun

NOW = datetime(2026, 11, 28, 15, 40, tzinfo=UTC)
USAGE = {
    "wall_seconds": 120.0,
    "cpu_seconds": 200.0,
    "peak_memory_mb": 310.5,
    "input_bytes": 50_000_000,
    "output_bytes": 9_000_000,
    "task_vcpu": 2.0,
    "task_memory_gb": 4.0,
}


def _run(db, status, finished, processing_seconds=None, cost=None):
    started = finished - timedelta(seconds=processing_seconds) if processing_seconds else None
    db.add(
        VideoRun(
            video_id=uuid.uuid4(),
            attempt=1,
            status=status,
            started_at=started,
            finished_at=finished,
            cost_usd=cost,
        )
    )


def test_stats_per_hour_percentiles_and_cost_per_day(db):
    for minutes, seconds in [(5, 10), (20, 20), (35, 30), (50, 40)]:
        _run(db, "processed", NOW - timedelta(minutes=minutes), seconds, cost=0.01)
    _run(db, "failed", NOW - timedelta(hours=2), cost=None)
    _run(db, "processed", NOW - timedelta(days=1), 100, cost=0.5)
    _run(db, "processed", NOW - timedelta(days=30), 1000, cost=9.0)  # outside every window
    db.commit()

    figures = runs.stats(db, hours=24, days=3, now=NOW)

    hourly = {row["hour"]: (row["processed"], row["failed"]) for row in figures["hourly"]}
    assert len(hourly) == 24
    assert hourly["2026-11-28T15:00:00+00:00"] == (3, 0)  # 15:35, 15:20, 15:05
    assert hourly["2026-11-28T14:00:00+00:00"] == (1, 0)  # 14:50
    assert hourly["2026-11-28T13:00:00+00:00"] == (0, 1)
    assert sum(p for p, _ in hourly.values()) == 4  # yesterday's run is 24 h 40 min ago

    durations = figures["processing_seconds"]
    assert durations["count"] == 5  # the processed runs of the last 3 days
    assert durations["p50"] == pytest.approx(30)
    assert durations["p95"] == pytest.approx(40 + 0.8 * 60)  # interpolated towards 100
    assert sum(b["count"] for b in durations["histogram"]) == 5

    daily = {row["day"]: (row["runs"], row["cost_usd"]) for row in figures["cost_per_day"]}
    assert daily == {
        "2026-11-26": (0, 0.0),
        "2026-11-27": (1, 0.5),
        "2026-11-28": (5, pytest.approx(0.04)),
    }


def test_no_runs_no_figures(db):
    figures = runs.stats(db, now=NOW)
    assert figures["processing_seconds"] == {"count": 0, "p50": None, "p95": None, "histogram": []}
    assert all(row["runs"] == 0 for row in figures["cost_per_day"])


def test_record_is_one_row_per_attempt_with_the_estimated_price(db, settings, make_player, upload):
    from vidpipe.db.models import Video

    player = make_player()
    video = db.get(Video, uuid.UUID(upload(player).json()["video_id"]))
    video.processing_at = NOW
    settings.fargate_vcpu_hour_usd, settings.fargate_gb_hour_usd = 0.036, 0.0036

    runs.record(db, video, "processed", settings, {"output_key": "k", **USAGE})
    db.commit()
    runs.record(db, video, "processed", settings, {"output_key": "k", **USAGE})  # redelivered
    db.commit()

    (run,) = runs.for_video(db, video.id)
    assert run.attempt == 1 and run.status == "processed"
    assert run.started_at == NOW
    assert run.wall_seconds == 120.0 and run.peak_memory_mb == 310.5
    assert run.input_bytes == 50_000_000 and run.output_bytes == 9_000_000
    # 120 s of 2 vCPU and 4 GB: 120 * (2 * 0.036 + 4 * 0.0036) / 3600
    assert run.cost_usd == pytest.approx(0.00288)


def test_failed_run_without_figures_has_no_price(db, settings, make_player, upload):
    from vidpipe.db.models import Video

    video = db.get(Video, uuid.UUID(upload(make_player()).json()["video_id"]))
    runs.record(db, video, "failed", settings)
    db.commit()
    (run,) = runs.for_video(db, video.id)
    assert run.status == "failed" and run.cost_usd is None and run.wall_seconds is None


def test_histogram_of_equal_values_is_centred_on_them():
    buckets = runs.histogram([7.5, 7.5])
    assert buckets[0]["start"] == 7.0 and buckets[-1]["end"] == pytest.approx(8.0)
    assert sum(b["count"] for b in buckets) == 2
