"""Reading and redriving the DLQ: shared by `vidpipe dlq list|redrive` and the operators'
console (`/api/console/dlq`). Messages are received hidden for a short while and released
unless they are settled, so reading the DLQ never loses anything."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from vidpipe import aws, operations
from vidpipe.contracts import DlqEntry, describe_dlq_body
from vidpipe.settings import Settings

HIDE_SECONDS = 30


def receive(settings: Settings, limit: int) -> list[dict]:
    """Receive up to `limit` DLQ messages, hidden for 30 s (the caller releases or deletes them)."""
    sqs = aws.client("sqs")
    seen: dict[str, dict] = {}
    empty = 0
    while len(seen) < limit and empty < 2:
        batch = sqs.receive_message(
            QueueUrl=settings.dlq_url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=HIDE_SECONDS,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        empty = empty + 1 if not batch else 0
        for message in batch:
            seen[message["MessageId"]] = message
    return list(seen.values())


def release(settings: Settings, messages: list[dict]) -> None:
    for message in messages:
        aws.client("sqs").change_message_visibility(
            QueueUrl=settings.dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


def entries(settings: Settings, limit: int) -> list[DlqEntry]:
    """What the DLQ holds (its messages stay in it)."""
    messages = receive(settings, limit)
    try:
        return [describe_dlq_body(m["Body"]) for m in messages]
    finally:
        release(settings, messages)


@dataclass
class Redrive:
    redriven: list[operations.RetryResult] = field(default_factory=list)
    removed: int = 0  # settled: gone, processed, or already on a newer attempt
    kept: int = 0  # a run is in progress: decided at a later redrive

    def describe(self) -> str:
        return (
            f"{len(self.redriven)} redriven, {self.removed} removed (nothing to do), "
            f"{self.kept} kept"
        )


def redrive(
    settings: Settings,
    session_factory: sessionmaker[Session],
    only: set[str] | None = None,
    limit: int = 100,
) -> Redrive:
    """A new attempt for each failed (or never started) video in the DLQ (`only`: these video
    ids); the messages of videos with nothing left to do are deleted, the others released."""
    messages = receive(settings, limit)
    keep: list[dict] = []
    outcome = Redrive()
    try:
        for message in messages:
            entry = describe_dlq_body(message["Body"])
            if (only and entry.video_id not in only) or entry.video_id is None:
                keep.append(message)
                continue
            with session_factory() as session:
                result = operations.retry(
                    session,
                    settings,
                    uuid.UUID(entry.video_id),
                    failed_attempt=entry.attempt,
                    retryable=operations.DLQ_RETRYABLE,
                )
            if result.outcome is operations.RetryOutcome.RETRIED:
                outcome.redriven.append(result)
            elif result.outcome.settled:
                outcome.removed += 1
            else:
                outcome.kept += 1
                keep.append(message)
                continue
            aws.client("sqs").delete_message(
                QueueUrl=settings.dlq_url, ReceiptHandle=message["ReceiptHandle"]
            )
    finally:
        release(settings, keep)
    return outcome
