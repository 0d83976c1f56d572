"""Reading and redriving the DLQ: shared by `vidpipe dlq list|redrive` and the operators'
console (`/api/console/dlq`). Messages are received hidden for a short while and released
unless they are settled, so reading the DLQ never loses anything. Who decides a retry differs:
the CLI asks the poller (no database access), the API decides in the database itself; both end
in `vidpipe.operations`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from vidpipe import aws, operations
from vidpipe.contracts import DlqEntry, RetryCommand, RetryReply, describe_dlq_body
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


# Carries out retry commands and answers each (in order): the poller through the status and
# replies queues for the CLI, `operations.carry_out` in the database for the API.
RetryAll = Callable[[list[RetryCommand]], list[RetryReply]]


@dataclass
class Redrive:
    redriven: list[str] = field(default_factory=list)  # what each new attempt is
    removed: int = 0  # settled: gone, processed, or already on a newer attempt
    kept: int = 0  # a run is in progress: decided at a later redrive

    def describe(self) -> str:
        return (
            f"{len(self.redriven)} redriven, {self.removed} removed (nothing to do), "
            f"{self.kept} kept"
        )


def redrive(settings: Settings, retry_all: RetryAll, only: set[str], limit: int) -> Redrive:
    """A new attempt for each failed (or never started) video in the DLQ (`only`: these video
    ids); the messages of videos with nothing left to do are deleted, the others released."""
    messages = receive(settings, limit)
    chosen: list[tuple[dict, RetryCommand]] = []
    keep: list[dict] = []
    for message in messages:
        entry = describe_dlq_body(message["Body"])
        if entry.video_id is None or (only and entry.video_id not in only):
            keep.append(message)
            continue
        command = RetryCommand(
            video_id=uuid.UUID(entry.video_id), failed_attempt=entry.attempt, from_dlq=True
        )
        chosen.append((message, command))
    try:
        replies = retry_all([command for _, command in chosen])
    except BaseException:
        release(settings, messages)
        raise
    outcome = Redrive()
    for (message, _), reply in zip(chosen, replies, strict=True):
        result = operations.RetryOutcome(reply.outcome)
        if result is operations.RetryOutcome.RETRIED:
            outcome.redriven.append(reply.detail)
        elif result.settled:
            outcome.removed += 1
        else:
            outcome.kept += 1
            keep.append(message)
            continue
        aws.client("sqs").delete_message(
            QueueUrl=settings.dlq_url, ReceiptHandle=message["ReceiptHandle"]
        )
    release(settings, keep)
    return outcome


def retry_in_database(session_factory: sessionmaker[Session], settings: Settings) -> RetryAll:
    """For whoever owns the database (the API): each command decided and done right here."""

    def retry_all(commands: list[RetryCommand]) -> list[RetryReply]:
        replies = []
        for command in commands:
            with session_factory() as session:
                replies.append(operations.carry_out(session, settings, command))
        return replies

    return retry_all
