"""Start the embedded moto server and create the stack's resources in it.

Moto keeps everything in memory, so the resources are created anew on every start; the database
is the source of truth that survives restarts.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from moto.server import ThreadedMotoServer

from vidpipe import aws

log = logging.getLogger(__name__)

LOCAL_REGION = "us-east-1"
# Moto accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


class LocalStack:
    """The embedded AWS for one `vidpipe up`: its own port, so several stacks can run side by side."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8001,
        data_dir: Path = Path("data"),
        max_receive_count: int = 5,
    ):
        self.host = host
        self.port = port
        self.data_dir = data_dir
        self.max_receive_count = max_receive_count
        self._server: ThreadedMotoServer | None = None
        self.env: dict[str, str] = {}

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> dict[str, str]:
        """Start moto, point this process's boto3 at it, create resources; return the settings env."""
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.env = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            **LOCAL_CREDENTIALS,
            "VIDPIPE_BUCKET": "vidpipe-media",
        }
        os.environ.update(self.env)
        aws.reset_clients()
        self._create_resources()
        os.environ.update(self.env)
        log.info("local AWS (moto) on %s", self.endpoint_url)
        return dict(self.env)

    def _create_resources(self) -> None:
        aws.client("s3").create_bucket(Bucket=self.env["VIDPIPE_BUCKET"])
        sqs = aws.client("sqs")
        dlq_url = sqs.create_queue(QueueName="vidpipe-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        jobs_url = sqs.create_queue(
            QueueName="vidpipe-jobs",
            Attributes={
                "VisibilityTimeout": "60",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(self.max_receive_count)}
                ),
            },
        )["QueueUrl"]
        status_url = sqs.create_queue(
            QueueName="vidpipe-status", Attributes={"VisibilityTimeout": "30"}
        )["QueueUrl"]
        self.env.update(
            VIDPIPE_JOBS_QUEUE_URL=jobs_url,
            VIDPIPE_STATUS_QUEUE_URL=status_url,
            VIDPIPE_DLQ_URL=dlq_url,
        )

    def start_workers(self, settings) -> None:
        """Start what runs beside the API: re-send unqueued uploads (the pipeline adds the
        poller and the Fargate runner here)."""
        from vidpipe import videos
        from vidpipe.db.session import make_engine
        from sqlalchemy.orm import Session

        engine = make_engine(settings.sqlalchemy_url)
        with Session(engine) as session:
            videos.resend_unqueued(session, settings, older_than=0)
        engine.dispose()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
