"""Every upload ends processed, or failed with a reason and a DLQ message; never lost, never stuck.
The job is tests/pipeline/fake_job.py (same contract as jobs.transcode) so failures are exact."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from cli import app
from poller import sweeper
from poller.service import PollerService
from tests.pipeline.rejection import real_rejection
from vidpipe import aws, videos
from vidpipe.db.models import Video

# Boots a local cloud, ffmpeg or servers: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow


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
    assert v.error == real_rejection()  # the job's own sentence, as the player reads it
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
    v = p.wait_status(vid, ("processed",))
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
    v = p.wait_status(vid, ("failed",))
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
    p.wait_status(vid, ("processed",))
    assert p.transcode_runs(vid) == 2 and p.fake_runs(vid) == 2
    assert _dlq_for(p, vid) == []


def test_a_retry_after_a_reported_failure_runs_longer_than_a_heartbeat_and_succeeds(
    pipeline_factory,
):
    """The retry heartbeats 4 times (every 1 s) before reporting. Moto kept one task token per
    state and handed the first attempt's stored failure to the retry's first heartbeat, so the
    video ended failed; AWS (and the shim) give each attempt its own token."""
    p = pipeline_factory("transient-then-slow")
    vid = p.video()
    v = p.wait_status(vid, timeout=40)
    assert v.status == "processed", v.error
    assert p.wait_execution_done(vid)["status"] == "SUCCEEDED"
    assert p.transcode_runs(vid) == 2 and p.fake_runs(vid) == 2
    first, second = (p.state_dir / f"{vid}.tokens").read_text().split()
    assert first != second
    with pytest.raises(ClientError) as refused:  # the first attempt's token is gone, as in AWS
        p.sfn.send_task_heartbeat(taskToken=first)
    assert aws.is_token_gone(refused.value)
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
    # Restart: the unacknowledged messages come back after the visibility timeout (10 s here).
    fresh = PollerService(p.settings, p.sessions, wait_seconds=1, sweep_interval_seconds=3600)
    fresh.start()
    try:
        for vid in vids:
            p.wait_status(vid, ("processed",))
    finally:
        fresh.stop()
    for vid in vids:
        assert [e["name"] for e in p.executions_of(vid)] == [f"{vid}-1"]
        assert p.fake_runs(vid) == 1 and p.get(vid).attempt == 1
    # The killed one's message came back too: StartExecution answers it as the same execution
    # (still running: idempotent) or ExecutionAlreadyExists (ended); either way one run.
    handled = fresh.counts.get("jobs.started", 0) + fresh.counts.get("jobs.duplicate", 0)
    assert handled >= 5, fresh.counts


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
    assert p.wait_execution_done(vid)["status"] in ("ABORTED", "FAILED")
    p.wait_no_tasks()  # the runner stopped the job
    assert p.get(vid) is None and _dlq_for(p, vid) == []


def test_backpressure_limits_running_executions(pipeline_factory):
    """The limit is on running executions (a Fargate task still exiting after its state moved on
    is not counted): measured from the executions' own start and stop times, not by sampling."""
    p = pipeline_factory(
        "ok",
        runner_concurrency=4,
        task_environment={"VIDPIPE_FAKE_SECONDS": "1"},
        settings_env={"VIDPIPE_MAX_RUNNING_EXECUTIONS": "2"},
    )
    vids = [p.video() for _ in range(5)]
    for vid in vids:
        p.wait_status(vid, ("processed",), timeout=120)
        p.wait_execution_done(vid)
    runs = [p.execution(vid) for vid in vids]
    # Ends sort before starts at the same instant: a slot freed and reused at once is not overlap.
    edges = sorted([(r["startDate"], 1) for r in runs] + [(r["stopDate"], -1) for r in runs])
    assert max(itertools.accumulate(delta for _, delta in edges)) == 2
    assert p.stack.poller.counts.get("backpressure", 0) > 0


def test_a_backlog_costs_few_list_executions_calls(pipeline_factory):
    """ListExecutions' account-wide refill is 2 calls/s outside the largest regions: a poller
    held back by the limit must not spend it (it used to call twice a second)."""
    p = pipeline_factory(
        "ok",
        task_environment={"VIDPIPE_FAKE_SECONDS": "60"},
        settings_env={
            "VIDPIPE_MAX_RUNNING_EXECUTIONS": "1",
            "VIDPIPE_RUNNING_COUNT_REFRESH_SECONDS": "2",
        },
    )
    calls: list[float] = []
    p.sfn.meta.events.register(
        "before-call.sfn.ListExecutions", lambda **_: calls.append(time.monotonic())
    )
    # A run that ends (here only when a busy machine breaks the long run, e.g. a missed
    # heartbeat) is re-counted a few times on purpose (RunningExecutions' rechecks): those
    # bursts are bounded below and kept out of the rate.
    running = p.stack.poller.running
    ends: list[float] = []
    run_ended = running.run_ended

    def record_end() -> None:
        ends.append(time.monotonic())
        run_ended()

    running.run_ended = record_end
    burst = running.rechecks * running.recheck_seconds + 1.0
    for _ in range(3):  # one runs for a minute, two wait
        p.video()
    end = time.monotonic() + 60
    while p.stack.poller.counts.get("backpressure", 0) < 3:
        assert time.monotonic() < end, "the poller never held back"
        time.sleep(0.1)
    # Over a window of several refresh periods, the calls follow the refresh period (2 s here,
    # 15 s by default), not the poll loop.
    start = calls[-1]
    while not calls or calls[-1] - start < 8:
        assert time.monotonic() < end, "no recount"
        time.sleep(0.1)
    window = [t for t in calls if t >= start]
    in_bursts = [t for t in window[1:] if any(e <= t <= e + burst for e in ends)]
    regular = [t for t in window[1:] if t not in in_bursts]
    per_minute = len(regular) * 60 / (window[-1] - window[0])
    diagnosis = (per_minute, window, ends, p.stack.poller.counts)
    assert per_minute <= 60 / 2 * 1.5, diagnosis
    assert len(in_bursts) <= (running.rechecks + 1) * len(
        [e for e in ends if e + burst >= start]
    ), diagnosis


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


def test_operators_retry_and_redrive_without_database_access(pipeline_factory, tmp_path):
    """In the cloud the database is private: `vidpipe retry` and `dlq redrive` ask the poller."""
    p = pipeline_factory("invalid")
    failed, in_dlq = p.video(), p.video()
    for vid in (failed, in_dlq):
        p.wait_status(vid, ("failed",))
        p.wait_execution_done(vid)
    p.drain_dlq()
    with p.sessions() as s:
        sweeper.send_to_dlq(s.get(Video, in_dlq), p.settings, "Transcode.Failed", "test")
    # No database for the operator: any attempt to use one fails loudly.
    env = {**os.environ, "VIDPIPE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}

    def vidpipe(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )

    out = vidpipe("dlq", "redrive")
    assert out.returncode == 0 and "1 redriven, 0 removed" in out.stdout, out.stdout + out.stderr
    assert p.get(in_dlq).attempt == 2
    out = vidpipe("retry", str(failed))
    assert out.returncode == 0 and "attempt 2" in out.stdout, out.stdout + out.stderr
    assert p.get(failed).attempt == 2
    unknown = "00000000-0000-4000-8000-000000000000"
    out = vidpipe("retry", unknown)
    assert out.returncode == 1 and f"no video {unknown}" in out.stderr, out.stdout + out.stderr


def test_output_that_lands_after_its_video_was_deleted_is_removed(pipeline_factory):
    from poller.status import VideoStatusMessage, apply

    p = pipeline_factory("ok", with_workers=False)
    gone, retried = p.video(publish=False), p.video(publish=False)
    for vid in (gone, retried):
        for name in ("clip.mp4", "poster.jpg"):
            p.s3.put_object(Bucket=p.settings.bucket, Key=f"processed/{vid}/{name}", Body=b"x")
    with p.sessions() as s:
        s.delete(s.get(Video, gone))  # deleted while its job was writing the output
        s.get(Video, retried).attempt = 2  # attempt 1's output shares attempt 2's prefix
        s.commit()

    def processed(vid) -> VideoStatusMessage:
        result = {"output_key": f"processed/{vid}/clip.mp4"}
        return VideoStatusMessage(
            version=1, status="processed", video_id=vid, attempt=1, task_token="t", result=result
        )

    def keys(vid) -> list[str]:
        listed = p.s3.list_objects_v2(Bucket=p.settings.bucket, Prefix=f"processed/{vid}/")
        return sorted(o["Key"] for o in listed.get("Contents", []))

    with p.sessions() as s:
        assert not apply(s, processed(gone), p.settings)
        assert not apply(s, processed(retried), p.settings)
    assert keys(gone) == []
    assert keys(retried) == [f"processed/{retried}/clip.mp4", f"processed/{retried}/poster.jpg"]
