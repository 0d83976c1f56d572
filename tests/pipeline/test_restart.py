"""`vidpipe up` killed (SIGKILL) while a video is processing, then started again: moto lost every
queue and execution, the database did not; the video ends processed (attempt 2). The DLQ, which
only moto holds, is kept under the data directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from cli.demo import _http, _multipart, make_test_clip
from localcloud.ports import free_port_pair
from tests.pipeline.test_failures import _dlq_for
from tests.test_cli_up import _health

# Boots a local cloud, ffmpeg or servers: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow

POLICY = {
    "VIDPIPE_MIN_DURATION_SECONDS": "1",
    "VIDPIPE_MIN_HEIGHT": "240",
    "VIDPIPE_BUMPER_SECONDS": "1",
}


def _up(port, data_dir, log):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDPIPE_", "AWS_", "MOTO_"))}
    env.update(POLICY)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


def test_up_killed_while_processing_restarts_and_the_video_ends_processed(tmp_path):
    port = free_port_pair()
    api = f"http://127.0.0.1:{port}"
    clip = tmp_path / "clip.mp4"
    make_test_clip(clip, seconds=8, width=640, height=360)
    log = open(tmp_path / "up.log", "ab")
    proc = _up(port, tmp_path / "data", log)
    try:
        _health(port)
        password = "a-long-password"
        signup = {
            "first_name": "R",
            "last_name": "S",
            "email": "r@example.com",
            "password1": password,
            "password2": password,
            "city": "Lima",
            "country": "Peru",
        }
        assert (
            _http(
                "POST",
                f"{api}/api/auth/signup",
                body=json.dumps(signup).encode(),
                content_type="application/json",
            )[0]
            == 201
        )
        token = _http(
            "POST",
            f"{api}/api/auth/login",
            content_type="application/json",
            body=json.dumps({"email": "r@example.com", "password": password}).encode(),
        )[1]["access_token"]
        body, ctype = _multipart({"title": "restart"}, "video_file", "clip.mp4", clip.read_bytes())
        status, up = _http(
            "POST", f"{api}/api/videos/upload", token=token, body=body, content_type=ctype
        )
        assert status == 201, up
        vid = up["video_id"]
        end = time.monotonic() + 30
        while _http("GET", f"{api}/api/videos/{vid}", token=token)[1]["status"] != "processing":
            assert time.monotonic() < end, "never processing"
            time.sleep(0.05)
        mirrors = tmp_path / "data" / "s3"  # <bucket>/<key>, written whole (tmp file, rename)
        while not list(mirrors.glob(f"*/uploads/{vid}.mp4")):  # the upload is on disk
            assert time.monotonic() < end, "the upload was never mirrored"
            time.sleep(0.05)
        assert _http("GET", f"{api}/api/videos/{vid}", token=token)[1]["status"] == "processing"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc = _up(port, tmp_path / "data", log)
        _health(port)
        end = time.monotonic() + 90
        while (video := _http("GET", f"{api}/api/videos/{vid}", token=token)[1])[
            "status"
        ] != "processed":
            assert video["status"] in ("uploaded", "processing"), video
            assert time.monotonic() < end, video
            time.sleep(0.3)
        assert video["task_id"] == f"{vid}-2"
        with urllib.request.urlopen(video["processed_url"], timeout=10) as r:
            assert r.read(12)[4:8] == b"ftyp"
        # The video is processed once RecordSuccess is answered; the execution then still
        # publishes its completion event before it ends.
        while (rows := _http("GET", f"{api}/api/videos/{vid}/history", token=token)[1])[-1][
            "event"
        ] != "ExecutionSucceeded":
            assert rows[-1]["event"] not in ("ExecutionFailed", "ExecutionAborted"), rows[-1]
            assert time.monotonic() < end, rows[-1]
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
        log.close()
    assert code == 0, (tmp_path / "up.log").read_text()[-3000:]


def test_dlq_messages_survive_a_restart(pipeline_factory, tmp_path):
    p = pipeline_factory("failed")  # retried once, then into the DLQ (a rejection is not)
    vid = p.video()
    p.wait_status(vid, ("failed",))
    p.wait_execution_done(vid)
    # Mirrored while running (what a hard kill leaves), not only by the final sync on stop.
    saved = tmp_path / "data" / "sqs" / "vidpipe-dlq.json"
    end = time.monotonic() + 10
    while not (saved.exists() and str(vid) in saved.read_text()):
        assert time.monotonic() < end, "the DLQ message was not mirrored"
        time.sleep(0.05)
    p.stack.stop()
    again = pipeline_factory("failed")  # same database and data directory, a new moto
    (dlq,) = _dlq_for(again, vid)
    assert dlq["type"] == "video.failed" and dlq["error"]["Error"] == "Transcode.Failed"
