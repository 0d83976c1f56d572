"""/api/console/*: operators only; executions, one execution's graph data and timeline, queues."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.api.conftest import jobs_messages
from tests.console.conftest import DEFINITION, run_execution
from vidpipe import aws, videos
from vidpipe.db.models import Video, VideoStatus

# Fixed ids of videos that do not exist (fixed, not uuid4(): the test ids must be the same in every
# pytest-xdist worker's collection).
NO_VIDEO = "0b7a6d1e-3c55-4f2a-9d8e-6a1f2c3b4d5e"
NO_VIDEO_2 = "9e8d7c6b-5a49-4382-8716-0f1e2d3c4b5a"

ROUTES = [
    ("GET", "/api/console/executions"),
    ("GET", f"/api/console/executions/{NO_VIDEO}-1"),
    ("GET", "/api/console/queues"),
    ("GET", "/api/console/stats"),
    ("GET", "/api/console/dlq"),
    ("POST", f"/api/console/videos/{NO_VIDEO}/retry"),
    ("POST", "/api/console/dlq/redrive"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_players_get_403_and_anonymous_401(client, console_settings, make_player, method, path):
    player = make_player()
    kwargs = {"json": {}} if method == "POST" else {}
    answer = client.request(method, path, headers=player.headers, **kwargs)
    assert answer.status_code == 403, answer.text
    assert answer.json() == {"detail": "the console is for operators"}
    assert client.request(method, path, **kwargs).status_code == 401


def test_executions_newest_first_with_status_filter(client, console_settings, operator, db):
    first, second = uuid.uuid4(), uuid.uuid4()
    run_execution(console_settings, f"{first}-1", ok=False)
    run_execution(console_settings, f"{second}-2", ok=True)

    listed = client.get("/api/console/executions", headers=operator.headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["executions"]
    assert [e["name"] for e in items] == [f"{second}-2", f"{first}-1"]
    assert items[0]["video_id"] == str(second) and items[0]["attempt"] == 2
    assert items[0]["status"] == "SUCCEEDED"
    assert items[0]["duration_seconds"] >= 0
    assert items[0]["title"] is None  # no such video in the database

    failed = client.get("/api/console/executions?status=FAILED", headers=operator.headers)
    assert [e["name"] for e in failed.json()["executions"]] == [f"{first}-1"]
    bad = client.get("/api/console/executions?status=BROKEN", headers=operator.headers)
    assert bad.status_code == 400


def test_executions_page_with_next_token(client, console_settings, operator):
    names = [f"{uuid.uuid4()}-1" for _ in range(3)]
    for name in names:
        run_execution(console_settings, name, ok=True)
    first = client.get("/api/console/executions?limit=2", headers=operator.headers).json()
    assert len(first["executions"]) == 2 and first["next_token"]
    rest = client.get(
        "/api/console/executions",
        params={"limit": 2, "next_token": first["next_token"]},
        headers=operator.headers,
    ).json()
    seen = [e["name"] for e in first["executions"] + rest["executions"]]
    assert sorted(seen) == sorted(names)


def test_execution_detail_has_definition_path_and_timeline(
    client, console_settings, operator, make_player, upload
):
    owner = make_player()
    video_id = upload(owner, title="Fadeaway").json()["video_id"]
    run_execution(console_settings, f"{video_id}-1", ok=False)

    answer = client.get(f"/api/console/executions/{video_id}-1", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert detail["definition"] == DEFINITION
    assert detail["execution"]["status"] == "FAILED"
    assert detail["execution"]["error"] == "Video.ProcessingFailed"
    assert detail["path"]["visited"] == ["Check", "VideoFailed"]
    assert detail["path"]["failed_state"] == "VideoFailed"
    assert detail["path"]["transitions"] == [["Check", "VideoFailed"]]
    events = [row["event"] for row in detail["events"]]
    assert events[0] == "ExecutionStarted" and events[-1] == "ExecutionFailed"
    assert detail["events"][-1]["error"] == "Video.ProcessingFailed"
    assert detail["events"][-1]["cause"] == "bad input"
    assert detail["video"]["title"] == "Fadeaway"

    listed = client.get("/api/console/executions", headers=operator.headers).json()
    assert listed["executions"][0]["title"] == "Fadeaway"
    assert listed["executions"][0]["video_status"] == "uploaded"


@pytest.mark.parametrize("name", ["not-an-execution", f"{NO_VIDEO_2}-7"])
def test_unknown_execution_is_404(client, console_settings, operator, name):
    answer = client.get(f"/api/console/executions/{name}", headers=operator.headers)
    assert answer.status_code == 404
    assert "no execution" in answer.json()["detail"]


def test_queue_depths(client, console_settings, operator):
    sqs = aws.client("sqs")
    for _ in range(2):
        sqs.send_message(QueueUrl=console_settings.dlq_url, MessageBody="{}")
    sqs.send_message(QueueUrl=console_settings.jobs_queue_url, MessageBody="{}")
    answer = client.get("/api/console/queues", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    depths = {q["name"]: q["visible"] for q in answer.json()["queues"]}
    assert depths == {"jobs": 1, "status": 0, "dlq": 2}
    assert answer.json()["running"] == []


def _dlq_envelope(video_id: str, attempt: int) -> str:
    return json.dumps(
        {
            "version": 1,
            "type": "video.failed",
            "execution": f"{video_id}-{attempt}",
            "message": {"video_id": video_id, "attempt": attempt},
            "error": {"Error": "Transcode.Failed", "Cause": "ffmpeg crashed"},
        }
    )


def _failed_video(db, settings, make_player, upload) -> str:
    video_id = upload(make_player(), title="Broken drill").json()["video_id"]
    assert videos.mark_failed(db, uuid.UUID(video_id), 1, "processing failed", settings)
    db.commit()
    return video_id


def _dlq_depth(settings) -> int:
    attrs = aws.client("sqs").get_queue_attributes(
        QueueUrl=settings.dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def test_dlq_list_then_retry_then_redrive_removes_the_settled_message(
    client, console_settings, operator, make_player, upload, db
):
    video_id = _failed_video(db, console_settings, make_player, upload)
    aws.client("sqs").send_message(
        QueueUrl=console_settings.dlq_url, MessageBody=_dlq_envelope(video_id, 1)
    )

    listed = client.get("/api/console/dlq", headers=operator.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["messages"] == [
        {
            "video_id": video_id,
            "attempt": 1,
            "execution": f"{video_id}-1",
            "error": "Transcode.Failed",
            "cause": "ffmpeg crashed",
        }
    ]
    # Reading leaves the message in the queue, visible again.
    assert client.get("/api/console/dlq", headers=operator.headers).json()["messages"]

    retried = client.post(f"/api/console/videos/{video_id}/retry", headers=operator.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["message"] == f"video {video_id}: attempt 2 ({video_id}-2) queued"
    db.expire_all()
    video = db.get(Video, uuid.UUID(video_id))
    assert (video.attempt, video.status) == (2, VideoStatus.uploaded)
    sent = [(job["video_id"], job["attempt"]) for job in jobs_messages(console_settings)]
    assert sent == [(video_id, 1), (video_id, 2)]  # the upload's, then the retry's

    again = client.post(f"/api/console/videos/{video_id}/retry", headers=operator.headers)
    assert again.status_code == 400
    assert "only a failed video can be retried" in again.json()["detail"]
    assert _dlq_depth(console_settings) == 1  # retry leaves the DLQ alone, as the CLI does

    redriven = client.post("/api/console/dlq/redrive", json={}, headers=operator.headers)
    assert redriven.status_code == 200, redriven.text
    assert redriven.json()["message"] == "0 redriven, 1 removed (nothing to do), 0 kept"
    assert _dlq_depth(console_settings) == 0


def test_redrive_only_the_chosen_videos(
    client, console_settings, operator, make_player, upload, db
):
    chosen = _failed_video(db, console_settings, make_player, upload)
    other = _failed_video(db, console_settings, make_player, upload)
    for video_id in (chosen, other):
        aws.client("sqs").send_message(
            QueueUrl=console_settings.dlq_url, MessageBody=_dlq_envelope(video_id, 1)
        )
    answer = client.post(
        "/api/console/dlq/redrive", json={"video_ids": [chosen]}, headers=operator.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == (
        f"video {chosen}: attempt 2 ({chosen}-2) queued; 1 redriven, 0 removed (nothing to do), "
        "0 kept"
    )
    db.expire_all()
    assert db.get(Video, uuid.UUID(chosen)).attempt == 2
    assert db.get(Video, uuid.UUID(other)).attempt == 1
    remaining = client.get("/api/console/dlq", headers=operator.headers).json()["messages"]
    assert [m["video_id"] for m in remaining] == [other]


def test_retry_unknown_video_is_404(client, console_settings, operator):
    for video_id in (uuid.uuid4(), "not-a-uuid"):
        answer = client.post(f"/api/console/videos/{video_id}/retry", headers=operator.headers)
        assert answer.status_code == 404


def test_cookie_session_needs_the_csrf_header_for_actions(
    client, console_settings, operator, make_player, upload, db
):
    video_id = _failed_video(db, console_settings, make_player, upload)
    login = client.post(
        "/api/auth/session", json={"email": operator.email, "password": "s3cret-pass"}
    )
    assert login.status_code == 200, login.text
    assert login.json()["user"]["is_operator"] is True
    assert client.get("/api/console/queues").status_code == 200  # the cookie authenticates
    refused = client.post(f"/api/console/videos/{video_id}/retry")
    assert refused.status_code == 403
    accepted = client.post(f"/api/console/videos/{video_id}/retry", headers={"X-CSRF": "1"})
    assert accepted.status_code == 200, accepted.text
