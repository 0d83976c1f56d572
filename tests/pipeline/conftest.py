"""A whole local pipeline per test: moto (S3, SQS, ECS, Step Functions executing the repository's
state machine), the local Fargate runner, the poller, a temp SQLite database, and the API app."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from localcloud.cloud import LocalCloud, local_cloud
from tests.factories import add_player
from vidpipe import aws, executions
from vidpipe.contracts import execution_name
from vidpipe.db.models import User, Video
from vidpipe.db.session import make_engine
from vidpipe.settings import Settings, get_settings

HERE = Path(__file__).resolve().parent
FAKE_JOB = [sys.executable, str(HERE / "fake_job.py")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def short_timings(heartbeat: int = 10, status_timeout: int = 60) -> Callable[[dict], dict]:
    """Test timings on the parsed definition (the file keeps production values; the placeholder
    list stays the one Pulumi fills): short heartbeat, 1 s retry intervals without backoff."""

    def transform(definition: dict) -> dict:
        for name, state in definition["States"].items():
            if state.get("Type") != "Task":
                continue
            if name == "Transcode":
                state["HeartbeatSeconds"] = heartbeat
                state["TimeoutSeconds"] = 120
            elif "TimeoutSeconds" in state:
                state["TimeoutSeconds"] = status_timeout
            for retrier in state.get("Retry", []):
                if "IntervalSeconds" in retrier:
                    retrier["IntervalSeconds"] = 1
                    retrier["BackoffRate"] = 1
        return definition

    return transform


@dataclass
class Pipeline:
    stack: LocalCloud
    settings: Settings
    sessions: sessionmaker[Session]
    tmp: Path
    state_dir: Path
    _users: list = field(default_factory=list)

    @property
    def sfn(self):
        return aws.client("stepfunctions")

    @property
    def sqs(self):
        return aws.client("sqs")

    @property
    def s3(self):
        return aws.client("s3")

    def user(self) -> User:
        with self.sessions() as s:
            return add_player(s)

    def video(
        self, owner: User | None = None, body: bytes = b"not really a video", publish: bool = True
    ) -> uuid.UUID:
        """A stored upload + its row (+ its jobs message), as the API's upload does."""
        from vidpipe import videos

        owner = owner or self.user()
        vid = uuid.uuid4()
        key = f"uploads/{vid}.mp4"
        self.s3.put_object(Bucket=self.settings.bucket, Key=key, Body=body)
        with self.sessions() as s:
            v = videos.create_video(
                s, video_id=vid, owner=owner, title="t", key=key, size=len(body)
            )
            if publish:
                assert videos.publish(s, v, self.settings)
        return vid

    def get(self, vid: uuid.UUID) -> Video | None:
        with self.sessions() as s:
            return s.get(Video, vid)

    def wait_status(self, vid, statuses=("processed", "failed"), timeout: float = 180) -> Video:
        end = time.monotonic() + timeout
        while True:
            v = self.get(vid)
            if v is not None and v.status in statuses:
                return v
            if time.monotonic() > end:
                raise AssertionError(f"video {vid} still {v.status if v else 'missing'}")
            time.sleep(0.1)

    def execution(self, vid, attempt: int = 1) -> dict:
        return self.sfn.describe_execution(
            executionArn=executions.execution_arn(execution_name(vid, attempt), self.settings)
        )

    def wait_execution_done(self, vid, attempt: int = 1, timeout: float = 120) -> dict:
        end = time.monotonic() + timeout
        while True:
            d = self.execution(vid, attempt)
            if d["status"] != "RUNNING":
                return d
            if time.monotonic() > end:
                raise AssertionError(f"execution {execution_name(vid, attempt)} still RUNNING")
            time.sleep(0.1)

    def events(self, vid, attempt: int = 1) -> list[dict]:
        arn = executions.execution_arn(execution_name(vid, attempt), self.settings)
        return self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]

    def transcode_runs(self, vid, attempt: int = 1) -> int:
        return sum(
            e["type"] == "TaskSubmitted" and e["taskSubmittedEventDetails"]["resourceType"] == "ecs"
            for e in self.events(vid, attempt)
        )

    def executions_of(self, vid) -> list[dict]:
        out = []
        for page in self.sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.settings.state_machine_arn
        ):
            out += [e for e in page["executions"] if e["name"].startswith(str(vid))]
        return out

    def drain_dlq(self) -> list[dict]:
        import json

        bodies = []
        for _ in range(3):
            msgs = self.sqs.receive_message(
                QueueUrl=self.settings.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            for m in msgs:
                bodies.append(json.loads(m["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.settings.dlq_url, ReceiptHandle=m["ReceiptHandle"]
                )
        return bodies

    def fake_runs(self, vid) -> int:
        f = self.state_dir / f"{vid}.runs"
        return int(f.read_text()) if f.exists() else 0

    def wait_no_tasks(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while self.stack.runner.running_count:
            assert time.monotonic() < end, "the runner still has running tasks"
            time.sleep(0.1)


@pytest.fixture
def pipeline_factory(tmp_path):
    """Start a pipeline: pipeline_factory(mode="ok" | None for the real job, **LocalCloud
    kwargs)."""
    saved_env = dict(os.environ)
    clouds = contextlib.ExitStack()

    def start(
        mode: str | None = "ok",
        *,
        heartbeat: int = 10,
        with_workers: bool = True,
        task_environment: dict | None = None,
        settings_env: dict | None = None,
        **kwargs,
    ) -> Pipeline:
        state_dir = tmp_path / "fake-state"
        state_dir.mkdir(exist_ok=True)
        env = {"VIDPIPE_FAKE_STATE_DIR": str(state_dir), "VIDPIPE_HEARTBEAT_SECONDS": "1"}
        env.update(task_environment or {})
        command = ["python", "-m", "jobs.transcode"] if mode is None else [*FAKE_JOB, mode]
        kwargs.setdefault("poller_wait_seconds", 1)
        # Short enough that a lost message comes back within a test, long enough that a busy
        # machine does not redeliver (and, after 5 receives, dead-letter) a message in hand.
        kwargs.setdefault("jobs_visibility_timeout", 10)
        kwargs.setdefault("status_visibility_timeout", 10)
        stack, settings = clouds.enter_context(
            local_cloud(
                database_url=f"sqlite:///{tmp_path / 'vidpipe.db'}",
                settings_env=settings_env,
                with_workers=with_workers,
                port=free_port(),
                data_dir=tmp_path / "data",
                task_command=command,
                task_environment=env,
                definition_transform=short_timings(heartbeat),
                **kwargs,
            )
        )
        sessions = sessionmaker(make_engine(settings.sqlalchemy_url), expire_on_commit=False)
        return Pipeline(stack, settings, sessions, tmp_path, state_dir)

    with clouds:
        yield start
    os.environ.clear()
    os.environ.update(saved_env)
    get_settings.cache_clear()
    aws.reset_clients()
