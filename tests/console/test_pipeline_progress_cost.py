"""Progress and cost through the whole local pipeline and the REAL job: the job's progress
messages reach the database through the poller, the finished run is recorded with its cost, and
`vidpipe history` prints it from the execution history alone."""

from __future__ import annotations

import subprocess
import time

import pytest
from typer.testing import CliRunner

from cli import app
from tests.pipeline.conftest import pipeline_factory  # noqa: F401  (fixture)
from vidpipe import runs
from vidpipe.db.models import VideoStatus

pytestmark = pytest.mark.slow

POLICY = {
    "VIDPIPE_MIN_DURATION_SECONDS": "1",
    "VIDPIPE_MIN_HEIGHT": "240",
    "VIDPIPE_BUMPER_SECONDS": "1",
    # Progress as often as the job can, so that even a short clip sends some.
    "VIDPIPE_PROGRESS_INTERVAL_SECONDS": "0.2",
}


def test_progress_and_cost_of_a_real_run(pipeline_factory, tmp_path):  # noqa: F811
    clip = tmp_path / "drill.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
        + ["testsrc2=size=426x240:rate=30:duration=6", "-c:v", "libx264", "-preset"]
        + ["ultrafast", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )
    p = pipeline_factory(None, heartbeat=10, task_environment=POLICY)
    vid = p.video(body=clip.read_bytes())

    seen: set[int] = set()
    end = time.monotonic() + 150
    while (video := p.get(vid)).status not in (VideoStatus.processed, VideoStatus.failed):
        assert time.monotonic() < end, f"video still {video.status}"
        if video.progress is not None:
            seen.add(video.progress)
        time.sleep(0.05)
    assert video.status is VideoStatus.processed, video.error
    assert video.progress == 100
    assert p.stack.poller.counts.get("status.progress", 0) >= 1, p.stack.poller.counts
    assert all(0 <= value <= 100 for value in seen)

    with p.sessions() as session:
        (run,) = runs.for_video(session, vid)
    assert (run.attempt, run.status) == (1, VideoStatus.processed)
    assert run.wall_seconds > 0 and run.cpu_seconds > 0 and run.peak_memory_mb > 0
    assert run.input_bytes == clip.stat().st_size
    assert run.output_bytes > 0
    assert (run.task_vcpu, run.task_memory_gb) == (1.0, 2.0)  # the local task size
    assert run.cost_usd and run.cost_usd > 0
    assert 0 <= run.processing_seconds

    out = CliRunner().invoke(app, ["history", str(vid)])
    assert out.exit_code == 0, out.output
    cost_line = out.output.strip().splitlines()[-1]
    assert cost_line.startswith("cost: ") and f"estimated ${run.cost_usd:.6f}" in cost_line
