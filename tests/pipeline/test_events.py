"""Completion events: the state machine publishes one EventBridge event per video outcome
(`arn:aws:states:::events:putEvents`, so it is in the execution history), and the local cloud
delivers them to a webhook URL (`vidpipe up --webhook URL` / VIDPIPE_WEBHOOK_URL)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from moto.events.models import EventsBackend

from localcloud.cloud import EVENT_BUS_NAME
from tests.pipeline.rejection import real_rejection

# Boots a local cloud: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow

API = "http://api.test:8123"


class Webhook:
    """A local HTTP server on 127.0.0.1 that records every POSTed JSON body."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/vidpipe"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events_for(self, vid) -> list[dict]:
        return [e for e in self.received if e.get("detail", {}).get("video_id") == str(vid)]

    def wait_for(self, vid, timeout: float = 30) -> dict:
        end = time.monotonic() + timeout
        while not self.events_for(vid):
            assert time.monotonic() < end, f"no event for {vid}; received {self.received}"
            time.sleep(0.1)
        return self.events_for(vid)[0]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def _published(p, vid) -> list[dict]:
    """The putEvents entries the execution's history shows."""
    out = []
    for e in p.events(vid):
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == (
            "events"
        ):
            out += json.loads(e["taskScheduledEventDetails"]["parameters"])["Entries"]
    return out


def test_processed_rejected_and_failed_videos_each_send_one_event_to_the_webhook(
    pipeline_factory, webhook
):
    p = pipeline_factory(
        "by-upload",
        heartbeat=30,
        settings_env={"VIDPIPE_WEBHOOK_URL": webhook.url},
        api_base_url=API + "/",
    )
    ok, rejected, failed = (p.video(body=b) for b in (b"fine", b"invalid", b"failed"))
    for vid in (ok, rejected, failed):
        p.wait_status(vid, ("processed", "failed"))
        webhook.wait_for(vid)

    event = webhook.wait_for(ok)
    assert (event["source"], event["detail-type"]) == ("vidpipe", "Video Processed")
    detail = event["detail"]
    assert detail["video_id"] == str(ok) and detail["attempt"] == 1
    assert detail["execution"] == f"{ok}-1" and detail["status"] == "processed"
    assert detail["rejected"] is False and detail["reason"] is None
    assert detail["bucket"] == p.settings.bucket
    assert detail["output_key"] == f"processed/{ok}/clip.mp4"
    assert detail["poster_key"] == f"processed/{ok}/poster.jpg"
    assert detail["url"] == f"{API}/api/videos/{ok}"
    assert detail["started_at"] <= detail["finished_at"]
    assert detail["durations"]["ffmpeg_wall_seconds"] == 0.1  # the job's own timings
    assert p.wait_execution_done(ok)["status"] == "SUCCEEDED"

    event = webhook.wait_for(rejected)
    assert event["detail-type"] == "Video Failed"
    detail = event["detail"]
    assert (detail["status"], detail["rejected"]) == ("failed", True)
    assert detail["reason"] == p.get(rejected).error == real_rejection()
    assert detail["error"] == "Transcode.InvalidInput" and detail["output_key"] is None
    assert detail["url"] == f"{API}/api/videos/{rejected}"
    assert p.wait_execution_done(rejected)["status"] == "SUCCEEDED"

    event = webhook.wait_for(failed)
    assert event["detail-type"] == "Video Failed"
    detail = event["detail"]
    assert (detail["status"], detail["rejected"]) == ("failed", False)
    assert detail["reason"] == p.get(failed).error
    assert detail["reason"] == "processing failed; please try again later or upload another file"
    assert detail["error"] == "Transcode.Failed"
    assert p.wait_execution_done(failed)["status"] == "FAILED"

    # Published by the state machine itself, on the stack's bus: visible in each history.
    for vid, detail_type in ((ok, "Video Processed"), (rejected, "Video Failed")):
        (entry,) = _published(p, vid)
        assert (entry["EventBusName"], entry["Source"]) == (EVENT_BUS_NAME, "vidpipe")
        assert entry["DetailType"] == detail_type
    assert len(_published(p, failed)) == 1
    # Exactly one event per video.
    p.wait_no_tasks()
    assert [len(webhook.events_for(v)) for v in (ok, rejected, failed)] == [1, 1, 1]


def test_a_failed_put_events_does_not_fail_the_video(pipeline_factory, webhook, monkeypatch):
    def refuse(self, events):
        return [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} for _ in events]

    monkeypatch.setattr(EventsBackend, "put_events", refuse)
    p = pipeline_factory("ok", heartbeat=30, webhook_url=webhook.url)
    vid = p.video()
    assert p.wait_status(vid, ("processed", "failed")).status == "processed"
    assert p.wait_execution_done(vid)["status"] == "SUCCEEDED"
    errors = [
        e["taskFailedEventDetails"]["error"]
        for e in p.events(vid)
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"].get("resourceType") == "events"
    ]
    assert errors and set(errors) == {"EventBridge.FailedEntry"}  # retried, then let go
    assert webhook.events_for(vid) == []
