"""Ask the poller to act and wait for its answer: what `vidpipe retry` and `dlq redrive` use.

Operators have no database access in the cloud (it is private); the poller, which owns it, carries
out their `RetryCommand`s and answers on the replies queue (docs/messages.md).
"""

from __future__ import annotations

import time
import uuid

from botocore.exceptions import ClientError
from pydantic import ValidationError

from vidpipe import aws
from vidpipe.contracts import RetryCommand, RetryReply
from vidpipe.settings import Settings

# Someone else's reply (another operator's command) is hidden from us this long, not for ever.
_OTHERS_REPLY_HIDDEN_SECONDS = 5


class NoAnswer(Exception):
    """The poller did not answer in time (is the poller service running?)."""


def retry(settings: Settings, commands: list[RetryCommand], timeout: float) -> list[RetryReply]:
    """Send the commands, then collect their replies (in the commands' order)."""
    if not commands:
        return []
    if not settings.status_queue_url or not settings.replies_queue_url:
        raise NoAnswer("VIDPIPE_STATUS_QUEUE_URL and VIDPIPE_REPLIES_QUEUE_URL must be set")
    sqs = aws.client("sqs")
    for command in commands:
        sqs.send_message(QueueUrl=settings.status_queue_url, MessageBody=command.model_dump_json())
    replies = _collect(settings, {c.request_id for c in commands}, timeout)
    return [replies[c.request_id] for c in commands]


def _collect(
    settings: Settings, waiting: set[uuid.UUID], timeout: float
) -> dict[uuid.UUID, RetryReply]:
    sqs = aws.client("sqs")
    got: dict[uuid.UUID, RetryReply] = {}
    deadline = time.monotonic() + timeout
    while len(got) < len(waiting):
        left = deadline - time.monotonic()
        if left <= 0:
            raise NoAnswer(
                f"no answer from the poller for {len(waiting) - len(got)} command(s) "
                f"within {timeout:g} s (is the poller running?)"
            )
        messages = sqs.receive_message(
            QueueUrl=settings.replies_queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=max(1, min(5, int(left))),
        ).get("Messages", [])
        for message in messages:
            try:
                reply = RetryReply.model_validate_json(message["Body"])
            except ValidationError:
                reply = None
            if reply is not None and reply.request_id in waiting:
                got[reply.request_id] = reply
                sqs.delete_message(
                    QueueUrl=settings.replies_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                continue
            try:
                sqs.change_message_visibility(
                    QueueUrl=settings.replies_queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=_OTHERS_REPLY_HIDDEN_SECONDS,
                )
            except ClientError:
                pass  # it reappears after the queue's visibility timeout anyway
    return got
