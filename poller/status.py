"""Status queue -> database -> SendTaskSuccess.

The state machine's MarkProcessing, RecordSuccess and RecordFailure states send a
`VideoStatusMessage` (docs/messages.md) with `sqs:sendMessage.waitForTaskToken` and wait. The
poller applies it with `vidpipe.videos.mark_*` (idempotent and attempt-aware), commits, then
answers with SendTaskSuccess `{"applied": bool, "status": <video status or null>}`; the message is
deleted only after that, so a crash in between re-applies the same update, harmlessly.

Operators' `video.retry` commands travel on the same queue (they too are changes to a video's
record, which only the poller makes); `poller.commands` carries them out. So do the transcode
job's `video.progress` messages: applied (current attempt, processing only, never backwards) and
deleted; nobody waits for them. The final statuses also record the run and its cost.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from poller import commands
from vidpipe import aws, videos
from vidpipe.contracts import (
    RetryCommand,
    VideoProgressMessage,
    VideoStatusMessage,
    parse_status_queue_body,
)
from vidpipe.db.models import Video
from vidpipe.settings import Settings

log = logging.getLogger(__name__)

MAX_REASON = 500


_GENERIC = {
    "Transcode.InvalidInput": "the file could not be processed: it is not a usable video",
    "Transcode.Transient": "processing was interrupted several times; please try again later",
    "Transcode.Failed": "processing failed; please try again later or upload another file",
    "States.Timeout": "processing stopped responding or took too long, and was stopped",
    "States.HeartbeatTimeout": "processing stopped responding and was stopped",
}


def reason_for(error: dict[str, Any] | None) -> str:
    """A reason the player can read. The job writes InvalidInput causes for players
    ("duration 12 s is below the 20 s minimum"); other causes are for operators (history, DLQ)."""
    error = error or {}
    name = str(error.get("Error") or "")
    cause = str(error.get("Cause") or "").strip()
    if name == "Transcode.InvalidInput" and cause:
        reason = cause
    elif name in _GENERIC:
        reason = _GENERIC[name]
    elif name.startswith("ECS."):
        reason = "no processing capacity was available; please try again later"
    else:
        reason = "the video could not be processed; please try again later"
    return reason[:MAX_REASON]


def apply(session: Session, message: VideoStatusMessage, settings: Settings) -> bool:
    """Apply one status update; True when it changed (or already matched) the current attempt."""
    if message.status == "processing":
        applied = videos.mark_processing(session, message.video_id, message.attempt)
    elif message.status == "processed":
        if not message.result or "output_key" not in message.result:
            raise ValueError("a processed status needs the job result with output_key")
        applied = videos.mark_processed(
            session, message.video_id, message.attempt, message.result, settings
        )
    else:
        applied = videos.mark_failed(
            session, message.video_id, message.attempt, reason_for(message.error), settings
        )
    session.commit()
    return applied


class StatusOutcome(enum.StrEnum):
    ANSWERED = "answered"  # applied and the waiting state (or operator) answered
    GONE = "gone"  # applied; nobody waits for the token any more
    PROGRESS = "progress"  # a progress message, applied or stale: deleted
    INVALID = "invalid"  # not a usable status-queue message: deleted
    ERROR = "error"  # kept for another try

    @property
    def done(self) -> bool:
        return self is not StatusOutcome.ERROR


@dataclass(frozen=True)
class StatusResult:
    outcome: StatusOutcome
    # The execution ends right after this answer (a final status, or a superseded attempt): the
    # jobs loop may have a free slot.
    ends_run: bool = False


def handle_status_message(
    body: str, session_factory: sessionmaker[Session], settings: Settings
) -> StatusResult:
    """Apply one status-queue message: a state's status update (answering its task token) or an
    operator's command (answered on the replies queue)."""
    try:
        message = parse_status_queue_body(body)
    except ValidationError as exc:
        log.error("status-queue message dropped, not one vidpipe knows: %s", exc)
        return StatusResult(StatusOutcome.INVALID)
    if isinstance(message, RetryCommand):
        done = commands.handle_retry(message, session_factory, settings)
        return StatusResult(StatusOutcome.ANSWERED if done else StatusOutcome.ERROR)
    if isinstance(message, VideoProgressMessage):
        return _handle_progress(message, session_factory)
    return _handle_status(message, session_factory, settings)


def _handle_progress(
    message: VideoProgressMessage, session_factory: sessionmaker[Session]
) -> StatusResult:
    try:
        with session_factory() as session:
            applied = videos.mark_progress(
                session, message.video_id, message.attempt, message.progress
            )
            session.commit()
    except Exception:
        log.exception("progress for video %s could not be applied", message.video_id)
        return StatusResult(StatusOutcome.ERROR)
    log.debug("progress %d%% for video %s: %s", message.progress, message.video_id, applied)
    return StatusResult(StatusOutcome.PROGRESS)


def _handle_status(
    message: VideoStatusMessage, session_factory: sessionmaker[Session], settings: Settings
) -> StatusResult:
    try:
        with session_factory() as session:
            applied = apply(session, message, settings)
            video = session.get(Video, message.video_id)
            status, reason = (video.status, video.error) if video is not None else (None, None)
    except ValueError as exc:
        _fail(message, "Status.InvalidMessage", str(exc))
        return StatusResult(StatusOutcome.INVALID)
    except Exception:
        log.exception("status %s for %s could not be applied", message.status, message.execution)
        return StatusResult(StatusOutcome.ERROR)
    log.info(
        "status %s for video %s attempt %d: %s",
        message.status,
        message.video_id,
        message.attempt,
        "applied" if applied else "stale",
    )
    ends_run = message.status != "processing" or not applied
    try:
        aws.client("stepfunctions").send_task_success(
            taskToken=message.task_token,
            output=json.dumps({"applied": applied, "status": status, "reason": reason}),
        )
    except ClientError as exc:
        if aws.is_token_gone(exc):
            log.info(
                "no state waits for %s's %s update any more", message.execution, message.status
            )
            return StatusResult(StatusOutcome.GONE, ends_run)
        log.warning("SendTaskSuccess failed: %s", exc)
        return StatusResult(StatusOutcome.ERROR)
    except BotoCoreError as exc:
        log.warning("SendTaskSuccess failed: %s", exc)
        return StatusResult(StatusOutcome.ERROR)
    return StatusResult(StatusOutcome.ANSWERED, ends_run)


def _fail(message: VideoStatusMessage, error: str, cause: str) -> None:
    try:
        aws.client("stepfunctions").send_task_failure(
            taskToken=message.task_token, error=error, cause=cause[:32000]
        )
    except (BotoCoreError, ClientError) as exc:
        log.warning("SendTaskFailure failed: %s", exc)
