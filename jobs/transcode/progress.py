"""`video.progress` status messages (docs/messages.md): the job's ffmpeg progress, sent to the
status queue at most every few seconds, fire-and-forget (no task token; the poller applies it)."""

from __future__ import annotations

import logging

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from vidpipe.contracts import VideoProgressMessage

from .periodic import Periodic

log = logging.getLogger(__name__)


class ProgressSender(Periodic):
    """`update(percent)` is the runner's progress hook (cheap: it only stores the value); a
    thread sends the latest value every `interval` seconds when it moved. A failed send is
    logged and forgotten: progress is a nicety, the outcome is reported through Step Functions."""

    def __init__(
        self,
        queue_url: str,
        video_id: str,
        attempt: int,
        interval: float,
        client=None,
    ) -> None:
        super().__init__(interval, "progress")
        self.queue_url = queue_url
        self.video_id = video_id
        self.attempt = attempt
        self.client = client or boto3.client("sqs")
        self.sent: list[int] = []
        self._latest: int | None = None

    def update(self, percent: int) -> None:
        self._latest = percent

    def tick(self) -> None:
        percent = self._latest
        if percent is None or (self.sent and percent <= self.sent[-1]):
            return
        try:
            body = VideoProgressMessage(
                video_id=self.video_id, attempt=self.attempt, progress=percent
            ).model_dump_json()
            self.client.send_message(QueueUrl=self.queue_url, MessageBody=body)
            self.sent.append(percent)
        except (BotoCoreError, ClientError, ValueError) as exc:  # ValueError: pydantic
            log.warning("progress %d%% not sent: %s", percent, exc)
