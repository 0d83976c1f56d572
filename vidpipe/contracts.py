"""Every message vidpipe sends between its parts, with its parsing: the one home of each contract.

Documented in docs/messages.md. The module needs pydantic only, so the transcode job's image
carries it too (Dockerfile.job). All bodies carry `version` and `type`; a consumer refuses a
version it does not know.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError


def execution_name(video_id: uuid.UUID | str, attempt: int) -> str:
    """The Step Functions execution of one attempt; also the API's `task_id`. Deterministic, so a
    duplicate jobs message cannot start a second run (StartExecution is idempotent by name)."""
    return f"{video_id}-{attempt}"


def parse_execution_name(name: str) -> tuple[uuid.UUID, int] | None:
    """`<video_id>-<attempt>` -> (video_id, attempt), or None for any other name."""
    head, sep, tail = name.rpartition("-")
    if not sep or not tail.isdigit():
        return None
    try:
        return uuid.UUID(head), int(tail)
    except ValueError:
        return None


def upload_key_for(video_id: uuid.UUID) -> str:
    return f"uploads/{video_id}.mp4"


def output_prefix_for(video_id: uuid.UUID) -> str:
    return f"processed/{video_id}/"


def _now() -> datetime:
    return datetime.now(UTC)


class VideoJobMessage(BaseModel):
    """Jobs queue, `video.process`: one per video attempt. Published by the API and the sweeper,
    consumed by the poller, which passes it unchanged as the execution input."""

    version: Literal[1] = 1
    type: Literal["video.process"] = "video.process"
    video_id: uuid.UUID
    attempt: int = Field(ge=1)
    bucket: str
    input_key: str
    output_prefix: str
    sent_at: datetime = Field(default_factory=_now)

    @property
    def execution_name(self) -> str:
        return execution_name(self.video_id, self.attempt)


class VideoStatusMessage(BaseModel):
    """Status queue, `video.status`: sent by the state machine's MarkProcessing, RecordSuccess and
    RecordFailure states with a task token; the poller applies it and answers the token."""

    version: Literal[1]
    type: Literal["video.status"] = "video.status"
    status: Literal["processing", "processed", "failed"]
    video_id: uuid.UUID
    attempt: int = Field(ge=1)
    execution: str | None = None
    task_token: str
    result: dict[str, Any] | None = None  # processed: the transcode job's result
    error: dict[str, Any] | None = None  # failed: Step Functions' {"Error": ..., "Cause": ...}


class RetryCommand(BaseModel):
    """Status queue, `video.retry`: an operator asks for a new attempt (`vidpipe retry`,
    `vidpipe dlq redrive`). The poller, which owns the database, carries it out and answers with a
    `RetryReply` on the replies queue, so operators need no database access."""

    version: Literal[1] = 1
    type: Literal["video.retry"] = "video.retry"
    request_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    video_id: uuid.UUID
    # The attempt a DLQ message reports as failed: a newer attempt means it was dealt with.
    failed_attempt: int | None = Field(default=None, ge=1)
    # From the DLQ a never-started (`uploaded`) video may be retried too, not only a failed one.
    from_dlq: bool = False
    sent_at: datetime = Field(default_factory=_now)


class RetryReply(BaseModel):
    """Replies queue, `video.retry.result`: what the poller did with a `RetryCommand`."""

    version: Literal[1] = 1
    type: Literal["video.retry.result"] = "video.retry.result"
    request_id: uuid.UUID
    video_id: uuid.UUID
    outcome: str  # vidpipe.operations.RetryOutcome
    status: str | None = None
    attempt: int | None = None
    execution: str | None = None
    queued: bool = False
    detail: str


class VideoProgressMessage(BaseModel):
    """Status queue, `video.progress`: the transcode job's progress of one attempt, sent at most
    every few seconds, fire-and-forget (no task token, nobody waits). The poller applies it to the
    current attempt of a processing video, never backwards, and deletes it."""

    version: Literal[1] = 1
    type: Literal["video.progress"] = "video.progress"
    video_id: uuid.UUID
    attempt: int = Field(ge=1)
    progress: int = Field(ge=0, le=100)
    sent_at: datetime = Field(default_factory=_now)


StatusQueueBody = VideoStatusMessage | RetryCommand | VideoProgressMessage
StatusQueueMessage = Annotated[StatusQueueBody, Field(discriminator="type")]
_status_queue_adapter: TypeAdapter[StatusQueueBody] = TypeAdapter(StatusQueueMessage)


def parse_status_queue_body(body: str) -> StatusQueueBody:
    """A status-queue body, by its `type`; raises pydantic.ValidationError for anything else."""
    return _status_queue_adapter.validate_json(body)


class StepFunctionsError(BaseModel):
    """Step Functions' error output, as the states pass it on."""

    Error: str | None = None
    Cause: str | None = None


class DlqEnvelope(BaseModel):
    """DLQ, `video.failed`: the original jobs message and why its run failed. Sent by the state
    machine's SendToDlq state and by the sweeper when a video's runs keep dying."""

    version: Literal[1] = 1
    type: Literal["video.failed"] = "video.failed"
    execution: str | None = None
    message: dict[str, Any]
    error: StepFunctionsError = StepFunctionsError()


class DlqEntry(BaseModel):
    """What an operator needs of one DLQ message, whichever kind it is."""

    video_id: str | None
    attempt: int | None
    execution: str | None = None
    error: str | None
    cause: str | None


def describe_dlq_body(body: str) -> DlqEntry:
    """A DLQ body: a `video.failed` envelope, or a raw `video.process` message that the jobs
    queue's redrive policy moved after repeated failed starts."""
    try:
        data = json.loads(body)
    except ValueError:
        return DlqEntry(video_id=None, attempt=None, error="unreadable message", cause=body[:200])
    if not isinstance(data, dict):
        return DlqEntry(video_id=None, attempt=None, error="unreadable message", cause=body[:200])
    try:
        if data.get("type") == "video.failed":
            envelope = DlqEnvelope.model_validate(data)
            return DlqEntry(
                video_id=_str_or_none(envelope.message.get("video_id")),
                attempt=_int_or_none(envelope.message.get("attempt")),
                execution=envelope.execution,
                error=envelope.error.Error,
                cause=envelope.error.Cause,
            )
        job = VideoJobMessage.model_validate(data)
    except ValidationError as exc:
        return DlqEntry(
            video_id=_str_or_none(data.get("video_id")),
            attempt=_int_or_none(data.get("attempt")),
            error="unreadable message",
            cause=str(exc)[:200],
        )
    return DlqEntry(
        video_id=str(job.video_id),
        attempt=job.attempt,
        execution=None,
        error="NeverStarted",
        cause="the jobs queue moved it here after repeated failed starts",
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
