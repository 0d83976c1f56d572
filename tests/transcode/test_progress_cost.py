"""The job's progress messages (`video.progress` to the status queue) and its cost figures."""

from __future__ import annotations

import json
import uuid

import pytest

from jobs.transcode import run_job
from jobs.transcode.progress import ProgressSender
from jobs.transcode.usage import task_size

from .test_report import BUCKET, cloud, job_settings  # noqa: F401  (cloud: fixture)


@pytest.mark.slow  # ffmpeg
def test_the_result_carries_what_the_run_used(cloud, inputs):  # noqa: F811
    cloud.s3.upload_file(str(inputs.short_720p), BUCKET, "uploads/c1.mp4")
    arn, token = cloud.start("c1-1")
    settings = job_settings(token, "uploads/c1.mp4", "c1")
    settings.task_vcpu, settings.task_memory_gb = 2.0, 4.0
    assert run_job(settings) == 0
    result = json.loads(cloud.finished(arn)["output"])
    assert result["input_bytes"] == inputs.short_720p.stat().st_size
    poster = cloud.s3.head_object(Bucket=BUCKET, Key=result["poster_key"])["ContentLength"]
    assert result["output_bytes"] == result["size_bytes"] + poster
    # ffmpeg's CPU time is counted (children's rusage), and the job lasted longer than ffmpeg.
    assert result["cpu_seconds"] >= result["ffmpeg_cpu_seconds"] > 0
    assert result["wall_seconds"] >= result["ffmpeg_wall_seconds"] > 0
    assert result["peak_memory_mb"] > 10  # ffmpeg's peak RSS at least
    assert (result["task_vcpu"], result["task_memory_gb"]) == (2.0, 4.0)


@pytest.mark.slow  # ffmpeg
def test_progress_messages_reach_the_status_queue_increasing(cloud, inputs):  # noqa: F811
    status = cloud.sqs.create_queue(QueueName="status")["QueueUrl"]
    cloud.s3.upload_file(str(inputs.short_720p), BUCKET, "uploads/c2.mp4")
    arn, token = cloud.start("c2-1")
    video_id = str(uuid.uuid4())
    settings = job_settings(token, "uploads/c2.mp4", video_id)
    settings.status_queue_url, settings.progress_interval_seconds = status, 0.05
    settings.attempt = 3
    seen = []
    assert run_job(settings, on_progress=seen.append) == 0
    assert cloud.finished(arn)["status"] == "SUCCEEDED"
    bodies = []
    while batch := cloud.sqs.receive_message(QueueUrl=status, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        bodies += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            cloud.sqs.delete_message(QueueUrl=status, ReceiptHandle=m["ReceiptHandle"])
    assert seen, "the runner reported no progress"
    assert bodies, "no progress message was sent"
    bodies.sort(key=lambda b: b["sent_at"])
    values = [b["progress"] for b in bodies]
    assert values == sorted(set(values)) and all(0 <= v <= 100 for v in values)
    assert set(values) <= set(seen)
    for body in bodies:
        assert {k: body[k] for k in ("version", "type", "video_id", "attempt")} == {
            "version": 1,
            "type": "video.progress",
            "video_id": video_id,
            "attempt": 3,
        }
        assert "task_token" not in body  # fire-and-forget: nobody waits for an answer


class _Recorder:
    def __init__(self) -> None:
        self.sent = []

    def send_message(self, **kwargs):
        self.sent.append(kwargs)


def test_progress_is_sent_by_the_timer_never_by_the_hook():
    client = _Recorder()
    with ProgressSender("q", "v", 1, interval=3600, client=client) as sender:
        for percent in range(100):
            sender.update(percent)
    # An hour between sends: ffmpeg's hundred updates produced no message at all.
    assert client.sent == []


def test_task_size_from_the_ecs_metadata(monkeypatch, tmp_path):
    # The metadata endpoint is HTTP in Fargate; a file URL stands for it here.
    (tmp_path / "task").write_text(json.dumps({"Limits": {"CPU": 2, "Memory": 4096}}))
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", tmp_path.as_uri())
    assert task_size(1.0, 2.0) == (2.0, 4.0)
    monkeypatch.delenv("ECS_CONTAINER_METADATA_URI_V4")
    assert task_size(1.0, 2.0) == (1.0, 2.0)
