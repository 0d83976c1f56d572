"""Step Functions reporting against moto (in-process, execution enabled): a real task token from
an `sqs:sendMessage.waitForTaskToken` state, answered by the job's own code."""

from __future__ import annotations

import json
import os
import signal
import time

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from jobs.transcode import Transient, run_job, storage
from jobs.transcode.report import Heartbeat, Reporter, TaskAbandoned
from jobs.transcode.runner import Cancellation
from localcloud import ecs_shim
from poller.status import reason_for

from .conftest import small_policy

BUCKET = "vidpipe-media"
HEARTBEAT_SECONDS = 2  # the state's HeartbeatSeconds: the job must beat faster than this
RESULT_KEYS = {
    "output_key",
    "poster_key",
    "duration_seconds",
    "width",
    "height",
    "size_bytes",
    "ffmpeg_wall_seconds",
    "ffmpeg_cpu_seconds",
    # The run's cost figures (jobs/transcode/usage.py).
    "wall_seconds",
    "cpu_seconds",
    "peak_memory_mb",
    "input_bytes",
    "output_bytes",
    "task_vcpu",
    "task_memory_gb",
}


class Cloud:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")
        self.sfn = boto3.client("stepfunctions")
        self.s3.create_bucket(Bucket=BUCKET)
        self.queue = self.sqs.create_queue(QueueName="tokens")["QueueUrl"]
        definition = {
            "StartAt": "Transcode",
            "States": {
                "Transcode": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {
                        "QueueUrl": self.queue,
                        "MessageBody": {"token.$": "$$.Task.Token"},
                    },
                    "HeartbeatSeconds": HEARTBEAT_SECONDS,
                    "TimeoutSeconds": 120,
                    "End": True,
                }
            },
        }
        self.machine = self.sfn.create_state_machine(
            name="transcode-test",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]

    def start(self, name: str) -> tuple[str, str]:
        arn = self.sfn.start_execution(stateMachineArn=self.machine, name=name, input="{}")[
            "executionArn"
        ]
        msgs = self.sqs.receive_message(QueueUrl=self.queue, WaitTimeSeconds=5).get("Messages", [])
        assert msgs, "the state did not send its task token"
        self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=msgs[0]["ReceiptHandle"])
        return arn, json.loads(msgs[0]["Body"])["token"]

    def finished(self, arn: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            desc = self.sfn.describe_execution(executionArn=arn)
            if desc["status"] != "RUNNING":
                return desc
            time.sleep(0.05)
        raise AssertionError("execution still running")


@pytest.fixture
def cloud(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):  # never a real endpoint or account
        monkeypatch.delenv(name, raising=False)
    # The local cloud's moto fixes: its SendTaskFailure keeps the `cause` (the player's reason).
    ecs_shim.install()
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            yield Cloud()
    finally:
        ecs_shim.uninstall()


def job_settings(token: str, key: str, video_id: str = "v1"):
    return small_policy(
        video_id=video_id,
        bucket=BUCKET,
        input_key=key,
        output_prefix=f"processed/{video_id}/",
        task_token=token,
        heartbeat_seconds=0.5,
        bumper_seconds=1,
    )


def test_success_uploads_and_reports_the_result(cloud, inputs):
    cloud.s3.upload_file(str(inputs.short_720p), BUCKET, "uploads/v1.mp4")
    arn, token = cloud.start("v1-1")
    assert run_job(job_settings(token, "uploads/v1.mp4")) == 0
    desc = cloud.finished(arn)
    assert desc["status"] == "SUCCEEDED", desc
    result = json.loads(desc["output"])
    assert set(result) == RESULT_KEYS
    assert result["output_key"] == "processed/v1/clip.mp4"
    assert result["poster_key"] == "processed/v1/poster.jpg"
    assert (result["width"], result["height"]) == (1280, 720)
    assert abs(result["duration_seconds"] - 7.0) < 0.05  # 5 s + 2 x 1 s bumpers
    assert result["ffmpeg_wall_seconds"] > 0 and result["ffmpeg_cpu_seconds"] > 0
    clip = cloud.s3.head_object(Bucket=BUCKET, Key=result["output_key"])
    assert clip["ContentLength"] == result["size_bytes"] and clip["ContentType"] == "video/mp4"
    poster = cloud.s3.get_object(Bucket=BUCKET, Key=result["poster_key"])
    assert poster["ContentType"] == "image/jpeg" and poster["Body"].read(3) == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    "upload, reason",
    [
        ("random_bytes", "the file could not be read as a video"),
        (None, "the uploaded file was not found"),
    ],
)
def test_invalid_input_is_reported_as_a_typed_failure(cloud, inputs, upload, reason):
    if upload:
        cloud.s3.upload_file(str(getattr(inputs, upload)), BUCKET, "uploads/v2.mp4")
    arn, token = cloud.start("v2-1")
    assert run_job(job_settings(token, "uploads/v2.mp4", "v2")) == 0  # reported: exit 0
    desc = cloud.finished(arn)
    assert desc["status"] == "FAILED"
    assert desc["error"] == "Transcode.InvalidInput"
    # What the player reads: the poller turns the reported error into it.
    assert reason_for({"Error": desc["error"], "Cause": desc["cause"]}).startswith(reason)
    assert "Contents" not in cloud.s3.list_objects_v2(Bucket=BUCKET, Prefix="processed/")


def test_s3_hiccup_is_reported_as_transient(cloud, inputs, monkeypatch):
    class Flaky:
        def download_file(self, *a, **kw):
            raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    monkeypatch.setattr(storage, "_client", lambda: Flaky())
    arn, token = cloud.start("v3-1")
    assert run_job(job_settings(token, "uploads/v3.mp4", "v3")) == 0
    desc = cloud.finished(arn)
    assert (desc["status"], desc["error"]) == ("FAILED", "Transcode.Transient")


def test_sigterm_during_ffmpeg_reports_transient_not_success(cloud, inputs):
    cloud.s3.upload_file(str(inputs.short_720p), BUCKET, "uploads/v4.mp4")
    arn, token = cloud.start("v4-1")
    before = signal.getsignal(signal.SIGTERM)
    sent = []

    def on_progress(percent):
        if not sent:  # as ECS does when stopping the task
            sent.append(percent)
            os.kill(os.getpid(), signal.SIGTERM)

    assert run_job(job_settings(token, "uploads/v4.mp4", "v4"), on_progress=on_progress) == 0
    desc = cloud.finished(arn)
    assert (desc["status"], desc["error"]) == ("FAILED", "Transcode.Transient")
    assert "Contents" not in cloud.s3.list_objects_v2(Bucket=BUCKET, Prefix="processed/")
    assert signal.getsignal(signal.SIGTERM) is before, "the job restores the previous handler"


def test_heartbeats_keep_a_long_task_alive(cloud):
    arn, token = cloud.start("v5-1")
    reporter = Reporter(token)
    cancel = Cancellation()
    with Heartbeat(reporter, 0.4, cancel) as hb:
        time.sleep(HEARTBEAT_SECONDS * 1.6)  # longer than the state's HeartbeatSeconds
    assert hb.sent >= 5 and not cancel.cancelled
    assert cloud.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    reporter.success({"ok": True})
    assert cloud.finished(arn)["status"] == "SUCCEEDED"


def test_without_heartbeats_the_state_gives_up_and_the_job_stops(cloud):
    arn, token = cloud.start("v6-1")
    desc = cloud.finished(arn, timeout=HEARTBEAT_SECONDS * 10)
    # moto reports heartbeat expiry as States.Timeout (AWS: States.HeartbeatTimeout).
    assert desc["status"] == "FAILED" and desc["error"] in (
        "States.Timeout",
        "States.HeartbeatTimeout",
    )
    cancel = Cancellation()
    with Heartbeat(Reporter(token), 0.1, cancel):
        assert cancel.event.wait(3), "the job was not told to stop"
    assert isinstance(cancel.error, TaskAbandoned)


def test_reporting_failure_is_the_only_non_zero_exit(cloud, inputs):
    cloud.s3.upload_file(str(inputs.random_bytes), BUCKET, "uploads/v7.mp4")
    assert run_job(job_settings("not-a-token", "uploads/v7.mp4", "v7")) == 1
    # Missing parameters: nothing to report to.
    assert run_job(small_policy()) == 2


def test_connection_error_maps_to_transient(tmp_path, monkeypatch):
    # No mock: a closed local port stands for the network being down (never real AWS).
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Transient):
        storage.download(BUCKET, "uploads/x.mp4", tmp_path / "x")
