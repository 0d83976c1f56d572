"""Every upload ends processed, or failed with a reason and a DLQ message; never lost, never stuck.
The job is tests/pipeline/fake_job.py (same contract as jobs.transcode) so failures are exact."""

from __future__ import annotations

import json
import threading
import time

from typer.testing import CliRunner

from cli import app
from poller import jobs, sweeper
from poller.service import PollerService
from vidpipe import videos
from vidpipe.db.models import Video


def _dlq_for(p, vid) -> list[dict]:
    return [b for b in p.drain_dlq() if b.get("message", {}).get("video_id") == str(vid)]


def test_an_unusable_upload_is_rejected_with_the_players_reason_and_no_dlq_message(
    pipeline_factory,
):
    """Transcode.InvalidInput is the player's file, not an outage: the video is failed with the
    job's reason, nothing goes to the DLQ, and the execution ends in its own terminal state
    without failing (so the ExecutionsFailed alarm does not see it)."""
    p = pipeline_factory("invalid")
    vid = p.video()
    v = p.wait_status(vid, ("failed",))
    assert v.error == "duration 3.0 s is below the 20 s minimum"
    assert p.wait_execution_done(vid)["status"] == "SUCCEEDED"
    assert p.transcode_runs(vid) == 1 and p.fake_runs(vid) == 1  # no retry
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in p.events(vid) if "StateEntered" in e["type"]
    ]
    assert entered[-4:] == [
        "RecordRejection",
        "RejectionRecorded",
        "PublishRejected",
        "VideoRejected",
    ]
    assert "SendToDlq" not in entered and "RecordFailure" not in entered
    assert _dlq_for(p, vid) == []
    p.wait_no_tasks()


def test_a_failing_job_is_retried_once_then_fails_into_the_dlq(pipeline_factory):
    p = pipeline_factory("failed")
    vid = p.video()
    v = p.wait_status(vid, ("failed",))
    assert v.error == "processing failed; please try again later or upload another file"
    assert p.wait_execution_done(vid)["status"] == "FAILED"
    assert p.transcode_runs(vid) == 2 and p.fake_runs(vid) == 2  # Transcode.Failed: one retry
    (dlq,) = _dlq_for(p, vid)
    assert dlq["type"] == "video.failed" and dlq["execution"] == f"{vid}-1"
    assert dlq["message"]["attempt"] == 1 and dlq["message"]["input_key"] == f"uploads/{vid}.mp4"
    assert dlq["error"] == {"Error": "Transcode.Failed", "Cause": "ffmpeg exited with code 234"}
    p.wait_no_tasks()


def test_a_job_that_crashes_once_is_retried_then_processed(pipeline_factory):
    p = pipeline_factory("crash-once")
    vid = p.video()
    v = p.wait_status(vid, ("processed",), timeout=30)
    assert v.processed_key == f"processed/{vid}/clip.mp4" and v.poster_key.endswith("poster.jpg")
    assert p.wait_execution_done(vid)["status"] == "SUCCEEDED"
    assert p.transcode_runs(vid) == 2 and p.fake_runs(vid) == 2
    types = [e["type"] for e in p.events(vid)]
    assert "TaskTimedOut" in types  # the crash was noticed by the missing heartbeat
    assert _dlq_for(p, vid) == []
    p.s3.head_object(Bucket=p.settings.bucket, Key=v.processed_key)
    p.wait_no_tasks()


def test_a_hanging_job_times_out_is_retried_then_fails_into_the_dlq(pipeline_factory):
    p = pipeline_factory("hang")
    vid = p.video()
    v = p.wait_status(vid, ("failed",), timeout=40)
    assert "stopped responding" in v.error
    assert p.wait_execution_done(vid)["status"] == "FAILED"
    assert p.transcode_runs(vid) == 3  # first run + 2 retries (States.Timeout / HeartbeatTimeout)
    p.wait_no_tasks()  # the runner killed every hung process
    assert p.fake_runs(vid) == 3
    # Operators: history and the DLQ from the CLI (same environment as the services).
    cli = CliRunner()
    out = cli.invoke(app, ["history", str(vid)])
    assert out.exit_code == 0, out.output
    assert (
        "Transcode" in out.output
        and "States.Timeout" in out.output
        and "RecordFailure" in out.output
    )
    out = cli.invoke(app, ["dlq", "list", "--json"])
    assert out.exit_code == 0, out.output
    rows = [r for r in json.loads(out.output[out.output.index("[") :]) if r["video_id"] == str(vid)]
    assert [r["error"] for r in rows] == ["States.Timeout"]
    out = cli.invoke(app, ["retry", str(vid)])
    assert out.exit_code == 0 and "attempt 2" in out.output, out.output
    assert p.get(vid).attempt == 2 and p.get(vid).status in ("uploaded", "processing")
    out = cli.invoke(app, ["retry", str(vid)])
    assert out.exit_code == 1  # not failed any more: no second retry


def test_a_transient_failure_is_retried_then_processed(pipeline_factory):
    p = pipeline_factory("transient-once")
    vid = p.video()
    p.wait_status(vid, ("processed",), timeout=30)
    assert p.transcode_runs(vid) == 2 and p.fake_runs(vid) == 2
    assert _dlq_for(p, vid) == []


def test_dlq_redrive_starts_a_new_attempt_and_removes_what_needs_nothing(pipeline_factory):
    p = pipeline_factory("failed")
    vid = p.video()
    p.wait_status(vid, ("failed",))
    p.wait_execution_done(vid)
    done = p.video(publish=False)  # a processed video whose DLQ message is obsolete
    with p.sessions() as s:
        row = s.get(Video, done)
        row.status = "processed"
        s.commit()
        sweeper.send_to_dlq(row, p.settings, "Transcode.Failed", "obsolete")
    out = CliRunner().invoke(app, ["dlq", "redrive"])
    assert out.exit_code == 0 and "1 redriven, 1 removed" in out.output, out.output
    v = p.get(vid)
    assert v.attempt == 2
    v = p.wait_status(vid, ("failed",))
    p.wait_execution_done(vid, attempt=2)
    assert [(b["message"]["video_id"], b["message"]["attempt"]) for b in p.drain_dlq()] == [
        (str(vid), 2)
    ]


def test_the_same_message_delivered_twice_starts_one_execution(pipeline_factory):
    p = pipeline_factory("ok")
    vid = p.video(publish=False)
    with p.sessions() as s:
        body = videos.job_message(s.get(Video, vid), p.settings).model_dump_json()
    for _ in range(2):
        p.sqs.send_message(QueueUrl=p.settings.jobs_queue_url, MessageBody=body)
    p.wait_status(vid, ("processed",))
    time.sleep(1.5)  # let the second delivery be handled
    assert [e["name"] for e in p.executions_of(vid)] == [f"{vid}-1"]
    assert p.fake_runs(vid) == 1
    counts = p.stack.poller.counts
    assert counts.get("jobs.started", 0) + counts.get("jobs.duplicate", 0) == 2
    attrs = p.sqs.get_queue_attributes(
        QueueUrl=p.settings.jobs_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )
    assert all(v == "0" for v in attrs["Attributes"].values())


class Killed(BaseException):
    """Ends a poller thread like SIGKILL ends the process: nothing after it runs."""


def test_poller_killed_mid_batch_and_restarted_loses_nothing_and_runs_nothing_twice(
    pipeline_factory,
):
    p = pipeline_factory("ok", poller=False, settings_env={"VIDPIPE_MAX_RUNNING_EXECUTIONS": "10"})
    vids = [p.video() for _ in range(6)]
    doomed = PollerService(p.settings, p.sessions, wait_seconds=1, sweep_interval_seconds=3600)
    deletes = {"n": 0}
    real_delete = doomed._delete

    def delete_then_die(queue, message):
        if queue == p.settings.jobs_queue_url:
            deletes["n"] += 1
            if deletes["n"] == 2:  # started the 2nd execution, killed before deleting its message
                doomed.stopping.set()
                raise Killed
        real_delete(queue, message)

    doomed._delete = delete_then_die
    threading.excepthook = (
        lambda args: None if args.exc_type is Killed else threading.__excepthook__(args)
    )
    try:
        doomed.start()
        end = time.monotonic() + 10
        while deletes["n"] < 2:
            assert time.monotonic() < end
            time.sleep(0.05)
        doomed.stop(timeout=5)
    finally:
        threading.excepthook = threading.__excepthook__
    assert len([e for v in vids for e in p.executions_of(v)]) == 2
    # Restart: the unacknowledged messages come back after the visibility timeout (3 s here).
    fresh = PollerService(p.settings, p.sessions, wait_seconds=1, sweep_interval_seconds=3600)
    fresh.start()
    try:
        for vid in vids:
            p.wait_status(vid, ("processed",), timeout=30)
    finally:
        fresh.stop()
    for vid in vids:
        assert [e["name"] for e in p.executions_of(vid)] == [f"{vid}-1"]
        assert p.fake_runs(vid) == 1 and p.get(vid).attempt == 1
    assert fresh.counts.get("jobs.duplicate", 0) >= 1  # the killed one's started execution


def test_deleting_a_processing_video_stops_its_execution(pipeline_factory):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from vidpipe.security import create_access_token

    p = pipeline_factory("ok", task_environment={"VIDPIPE_FAKE_SECONDS": "60"})
    owner = p.user()
    vid = p.video(owner)
    p.wait_status(vid, ("processing",))
    end = time.monotonic() + 10
    while not p.stack.runner.running_count:
        assert time.monotonic() < end
        time.sleep(0.05)
    client = TestClient(create_app(p.settings))
    token = create_access_token(owner.id, p.settings)
    r = client.delete(f"/api/videos/{vid}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert p.wait_execution_done(vid, timeout=10)["status"] in ("ABORTED", "FAILED")
    p.wait_no_tasks(timeout=10)  # the runner stopped the job
    assert p.get(vid) is None and _dlq_for(p, vid) == []


def test_backpressure_limits_running_executions(pipeline_factory):
    p = pipeline_factory(
        "ok",
        runner_concurrency=4,
        task_environment={"VIDPIPE_FAKE_SECONDS": "1"},
        settings_env={"VIDPIPE_MAX_RUNNING_EXECUTIONS": "2"},
    )
    vids = [p.video() for _ in range(5)]
    peak = 0
    end = time.monotonic() + 60
    while not all(p.get(v).status == "processed" for v in vids):
        assert time.monotonic() < end, "not all processed"
        peak = max(peak, jobs.count_running(p.settings, 100))
        time.sleep(0.1)
    assert peak <= 2 and p.stack.runner.max_seen_running <= 2
    assert p.stack.poller.counts.get("backpressure", 0) > 0


def test_sweeper_redrives_a_processing_video_whose_run_died(pipeline_factory):
    p = pipeline_factory("ok", poller=False)
    vid = p.video(publish=False)
    with p.sessions() as s:
        row = s.get(Video, vid)
        row.status = "processing"  # as if its execution died without a record
        s.commit()
        report = sweeper.sweep(s, p.settings, processing_grace_seconds=0)
    assert report.redriven == 1 and p.get(vid).attempt == 2
    service = PollerService(p.settings, p.sessions, wait_seconds=1, sweep_interval_seconds=3600)
    service.start()
    try:
        v = p.wait_status(vid, ("processed",))
    finally:
        service.stop()
    assert v.attempt == 2 and [e["name"] for e in p.executions_of(vid)] == [f"{vid}-2"]


def test_status_updates_are_idempotent_and_attempt_aware(pipeline_factory):
    from poller.status import VideoStatusMessage, apply

    p = pipeline_factory("ok", with_workers=False)
    vid = p.video(publish=False)

    def msg(status, attempt=1, **kw):
        return VideoStatusMessage(
            version=1, status=status, video_id=vid, attempt=attempt, task_token="t", **kw
        )

    with p.sessions() as s:
        assert apply(s, msg("processing")) and apply(s, msg("processing"))
        assert apply(s, msg("failed", error={"Error": "States.Timeout"}))
        # A redelivered "processing" must not bring a failed video back (the bug fixed here).
        assert not apply(s, msg("processing"))
        assert not apply(s, msg("processed", attempt=2, result={"output_key": "k"}))  # not current
    assert p.get(vid).status == "failed"
