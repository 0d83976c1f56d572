"""Real uploads through the API, the whole local pipeline and the REAL job (`python -m
jobs.transcode`), with a lowered duration/height policy so that tiny clips are accepted."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from cli.demo import make_test_clip
from vidpipe.db.models import User

# Boots a local cloud, ffmpeg or servers: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow

POLICY = {
    "VIDPIPE_MIN_DURATION_SECONDS": "1",
    "VIDPIPE_MIN_HEIGHT": "240",
    "VIDPIPE_BUMPER_SECONDS": "1",
}


@pytest.fixture
def clips(tmp_path):
    a, b, audio_only = (tmp_path / f"{name}.mp4" for name in ("a", "b", "audio_only"))
    make_test_clip(a, seconds=3, width=426, height=240)
    make_test_clip(b, seconds=2, width=240, height=426, rate=25, audio=False)  # portrait, silent
    # An MP4 by its content, with no video stream: invalid input for the job.
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
        + ["sine=duration=3", "-c:a", "aac", "-f", "mp4", str(audio_only)],
        check=True,
    )
    return {"a": a.read_bytes(), "b": b.read_bytes(), "audio_only": audio_only.read_bytes()}


def _token(client: TestClient) -> str:
    creds = {"email": "e2e@example.com", "password": "s3cret-password"}
    r = client.post(
        "/api/auth/signup",
        json={
            "first_name": "Ada",
            "last_name": "Jordan",
            "password1": creds["password"],
            "password2": creds["password"],
            "city": "Medellín",
            "country": "Colombia",
            "email": creds["email"],
        },
    )
    assert r.status_code == 201, r.text
    r = client.post("/api/auth/login", json=creds)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_uploads_through_the_api_come_out_processed_in_s3_and_the_database(
    pipeline_factory, clips, tmp_path
):
    # A third task waits PENDING for a free core (one job per core), without heartbeats: on a busy
    # machine that can exceed a short heartbeat before the job starts.
    p = pipeline_factory(None, heartbeat=30, task_environment=POLICY)
    client = TestClient(create_app(p.settings))
    auth = {"Authorization": f"Bearer {_token(client)}"}
    ids = {}
    for name, data in clips.items():
        r = client.post(
            "/api/videos/upload",
            headers=auth,
            data={"title": name},
            files={"video_file": (f"{name}.mp4", data, "video/mp4")},
        )
        assert r.status_code == 201, r.text
        ids[name] = r.json()["video_id"]
        assert r.json()["task_id"] == f"{ids[name]}-1"
    final = {}
    end = time.monotonic() + 150
    while len(final) < len(ids):
        assert time.monotonic() < end, f"not finished: {set(ids) - set(final)}"
        for name, vid in ids.items():
            body = client.get(f"/api/videos/{vid}", headers=auth).json()
            if body["status"] in ("processed", "failed"):
                final[name] = body
        time.sleep(0.3)

    for name in ("a", "b"):
        body = final[name]
        assert body["status"] == "processed", body
        vid = ids[name]
        row = p.get(__import__("uuid").UUID(vid))
        assert row.processed_key == f"processed/{vid}/clip.mp4"
        assert row.poster_key == f"processed/{vid}/poster.jpg"
        assert row.duration_seconds and row.ffmpeg_wall_seconds and row.processed_at
        out = tmp_path / f"{name}-out.mp4"
        p.s3.download_file(p.settings.bucket, row.processed_key, str(out))
        p.s3.head_object(Bucket=p.settings.bucket, Key=row.poster_key)
        info = json.loads(
            subprocess.run(
                ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(out)],
                capture_output=True,
                check=True,
            ).stdout
        )
        streams = info["streams"]
        assert [s["codec_type"] for s in streams] == ["video"]  # no audio at all
        assert (streams[0]["width"], streams[0]["height"], streams[0]["codec_name"]) == (
            1280,
            720,
            "h264",
        )
        with p.sessions() as s:
            assert s.get(User, row.owner_id).public_videos == 2
        # The owner sees the run's history through the API.
        rows = client.get(f"/api/videos/{vid}/history", headers=auth).json()
        states = [r["state"] for r in rows if r["event"].endswith("StateExited")]
        assert states == [
            "MarkProcessing",
            "IsCurrentAttempt",
            "Transcode",
            "RecordSuccess",
            "ProcessedRecorded",
            "PublishProcessed",
            "Processed",
        ]
        assert rows[-1]["event"] == "ExecutionSucceeded" and rows[-1]["duration_seconds"] > 0

    # An unusable upload: the player reads the real job's reason; it is rejected, not an outage
    # (the execution succeeds in VideoRejected and nothing goes to the DLQ).
    bad = final["audio_only"]
    assert bad["status"] == "failed", bad
    assert bad["error"] == "no video stream: the file contains no video (audio only?)"
    vid = __import__("uuid").UUID(ids["audio_only"])
    assert p.wait_execution_done(vid)["status"] == "SUCCEEDED"
    # Invalid input is not retried. (A task left PENDING past the heartbeat on a busy machine is
    # retried as a timeout before it runs, so count the job's reports, not the submissions.)
    failures = [
        e["taskFailedEventDetails"]["error"] for e in p.events(vid) if e["type"] == "TaskFailed"
    ]
    assert (
        failures.count("Transcode.InvalidInput") == 1 and failures[-1] == "Transcode.InvalidInput"
    )
    rows = client.get(f"/api/videos/{vid}/history", headers=auth).json()
    states = [r["state"] for r in rows if r["event"].endswith("StateExited")]
    assert states[-5:] == [
        "Transcode",
        "RecordRejection",
        "RejectionRecorded",
        "PublishRejected",
        "VideoRejected",
    ], states
    assert p.drain_dlq() == []
    # Other people's history is not theirs to read.
    assert client.get(f"/api/videos/{vid}/history").status_code == 401
    assert (
        client.get(
            "/api/videos/00000000-0000-0000-0000-000000000000/history", headers=auth
        ).status_code
        == 404
    )
    p.wait_no_tasks()
    logs = list((p.stack.data_dir / "logs").glob("*.log"))
    assert len(logs) == 3 and all("exited with code 0" in f.read_text() for f in logs)
