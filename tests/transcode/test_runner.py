"""Bounded ffmpeg: time limit, cancellation, SIGTERM, progress parsing; settings."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jobs.transcode import Failed, TranscodeSettings, Transient, process_file
from jobs.transcode.probe import mp4_truncation
from jobs.transcode.runner import Cancellation, ProgressParser, TimeLimitExceeded, run_ffmpeg

from .conftest import small_policy

REPO = Path(__file__).resolve().parents[2]
# An ffmpeg that never ends on its own (realtime lavfi source, no duration).
ENDLESS = [
    "ffmpeg",
    "-hide_banner",
    "-nostdin",
    "-progress",
    "pipe:1",
    "-stats_period",
    "0.5",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc=s=320x240:r=30",
    "-f",
    "null",
    "-",
]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().split(")")[-1].split()[1]) == pid:
                        kids.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return kids


def test_time_limit_kills_ffmpeg():
    seen = []
    start = time.monotonic()
    with pytest.raises(TimeLimitExceeded) as exc:
        run_ffmpeg(ENDLESS, time_limit=1.5, total_seconds=100, on_progress=seen.append)
    assert time.monotonic() - start >= 1.4, "not killed before its limit"
    assert exc.value.error == "Transcode.Failed" and "limit" in exc.value.cause
    assert seen, "progress was reported while ffmpeg ran"
    assert not any(
        _alive(pid) and "ffmpeg" in open(f"/proc/{pid}/cmdline").read()
        for pid in _children(os.getpid())
    )


def test_job_time_limit_is_derived_from_the_clip_and_enforced(inputs, tmp_path):
    # 5 s input, 1 s bumpers -> 7 s of output; factor 0.01 -> a 0.07 s limit.
    s = small_policy(bumper_seconds=1, ffmpeg_timeout_min_seconds=0, ffmpeg_timeout_factor=0.01)
    with pytest.raises(Failed, match="longer than its"):
        process_file(inputs.short_720p, tmp_path / "o.mp4", tmp_path / "p.jpg", s)


def test_cancellation_stops_ffmpeg_at_once():
    cancel = Cancellation()
    threading.Timer(0.5, cancel.cancel, [Transient("stopped by test")]).start()
    # The cancellation's own error, not the 30 s time limit's: stopped by the cancellation.
    with pytest.raises(Transient, match="stopped by test"):
        run_ffmpeg(ENDLESS, time_limit=30, total_seconds=10, cancellation=cancel)
    assert not any(
        _alive(pid) and "ffmpeg" in open(f"/proc/{pid}/cmdline").read()
        for pid in _children(os.getpid())
    )


def test_sigterm_stops_ffmpeg_and_reports_transient(inputs, tmp_path):
    """The local command (same code path as the job) on the 22 s 1080p60 input: SIGTERM once
    ffmpeg reports progress; the process must end quickly, with ffmpeg gone."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs.transcode",
            "--input",
            str(inputs.landscape_1080p60),
            "--output",
            str(tmp_path / "o.mp4"),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if re.search(r"progress \d+%", line):
            break
    ffmpegs = [
        pid for pid in _children(proc.pid) if "ffmpeg" in open(f"/proc/{pid}/cmdline").read()
    ]
    assert ffmpegs, "ffmpeg was running"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "Transcode.Transient: the task was stopped (SIGTERM)" in err
    assert not any(_alive(pid) for pid in ffmpegs)
    assert "progress 100%" not in err


def test_progress_parser_reports_percentages():
    seen = []
    p = ProgressParser(total_seconds=10, on_progress=seen.append)
    for t in (0, 2_500_000, 2_500_000, 9_990_000):
        for line in (
            "frame=1\n",
            f"out_time_us={t}\n",
            f"out_time=00:00:0{t // 1_000_000}\n",
            "progress=continue\n",
        ):
            p.feed(line)
    assert seen == [0, 25, 99]
    p.feed("out_time_us=N/A\n")
    p.feed("progress=end\n")
    assert seen[-1] == 100


def test_settings_read_the_shared_env_names(monkeypatch):
    env = {
        "VIDPIPE_VIDEO_ID": "v1",
        "VIDPIPE_ATTEMPT": "2",
        "VIDPIPE_BUCKET": "media",
        "VIDPIPE_INPUT_KEY": "uploads/v1.mp4",
        "VIDPIPE_OUTPUT_PREFIX": "processed/v1/",
        "VIDPIPE_TASK_TOKEN": "tok",
        "VIDPIPE_HEARTBEAT_SECONDS": "7",
        "VIDPIPE_MAX_CLIP_SECONDS": "25",
        "VIDPIPE_MIN_DURATION_SECONDS": "10",
        "VIDPIPE_MAX_DURATION_SECONDS": "90",
        "VIDPIPE_MIN_HEIGHT": "720",
        "VIDPIPE_BUMPER_SECONDS": "2",
        "VIDPIPE_LOGO_PATH": "/x/logo.png",
        "VIDPIPE_X264_PRESET": "faster",
        "VIDPIPE_X264_CRF": "21",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = TranscodeSettings()
    s.require_job_params()
    assert (s.video_id, s.attempt, s.bucket, s.input_key, s.task_token) == (
        "v1",
        2,
        "media",
        "uploads/v1.mp4",
        "tok",
    )
    assert (s.output_key, s.poster_key) == ("processed/v1/clip.mp4", "processed/v1/poster.jpg")
    assert (
        s.heartbeat_seconds,
        s.max_clip_seconds,
        s.min_duration_seconds,
        s.max_duration_seconds,
    ) == (7, 25, 10, 90)
    assert (s.min_height, s.bumper_seconds, str(s.logo_path), s.x264_preset, s.x264_crf) == (
        720,
        2,
        "/x/logo.png",
        "faster",
        21,
    )


def test_settings_defaults_and_bumper_limit(monkeypatch):
    s = TranscodeSettings()
    assert (s.max_clip_seconds, s.min_duration_seconds, s.max_duration_seconds, s.min_height) == (
        30,
        20,
        60,
        1080,
    )
    assert (s.bumper_seconds, s.x264_preset, s.x264_crf, s.output_fps, s.heartbeat_seconds) == (
        2.5,
        "veryfast",
        23,
        30,
        10,
    )
    assert s.logo_path.is_file() and s.logo_path.stat().st_size < 50_000
    with pytest.raises(ValueError):
        s.require_job_params()
    monkeypatch.setenv("VIDPIPE_BUMPER_SECONDS", "3")  # 6 s of bumpers is over the 5 s rule
    with pytest.raises(ValueError):
        TranscodeSettings()


def test_mp4_truncation_detects_cut_files(inputs, tmp_path):
    assert mp4_truncation(inputs.short_720p) is None
    assert mp4_truncation(inputs.truncated) is not None
    assert mp4_truncation(inputs.random_bytes) is None  # not an MP4: left to ffprobe
