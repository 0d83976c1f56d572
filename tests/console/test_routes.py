"""/api/console/*: operators only; executions, one execution's graph data and timeline, queues."""

from __future__ import annotations

import uuid

import pytest

from tests.console.conftest import DEFINITION, run_execution
from vidpipe import aws

ROUTES = [
    ("GET", "/api/console/executions"),
    ("GET", f"/api/console/executions/{uuid.uuid4()}-1"),
    ("GET", "/api/console/queues"),
    ("GET", "/api/console/stats"),
    ("GET", "/api/console/dlq"),
    ("POST", f"/api/console/videos/{uuid.uuid4()}/retry"),
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


@pytest.mark.parametrize("name", ["not-an-execution", f"{uuid.uuid4()}-7"])
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
