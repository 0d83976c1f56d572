"""Operator actions on failed videos: retry one, or redrive what the DLQ holds.

The one place that decides whether a video may get a new attempt. The poller carries these out
for `vidpipe retry` / `vidpipe dlq redrive` (which have no database access in the cloud), and the
operators' console calls them through the API.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from vidpipe import videos
from vidpipe.contracts import RetryCommand, RetryReply
from vidpipe.db.models import Video, VideoStatus
from vidpipe.settings import Settings

# Only a failed video is retried on an operator's word; a DLQ message also stands for a video whose
# jobs message never started (still `uploaded`).
RETRYABLE = (VideoStatus.failed,)
DLQ_RETRYABLE = (VideoStatus.failed, VideoStatus.uploaded)


class RetryOutcome(enum.StrEnum):
    RETRIED = "retried"  # a new attempt exists; `queued` says whether SQS took its message
    GONE = "gone"  # no such video (deleted)
    ALREADY_PROCESSED = "already_processed"
    SUPERSEDED = "superseded"  # the failure named an older attempt: a newer one exists
    NOT_RETRYABLE = "not_retryable"  # its status allows no retry now (e.g. still processing)

    @property
    def settled(self) -> bool:
        """Nothing is left to do for the failure that asked (a DLQ message can go)."""
        return self is not RetryOutcome.NOT_RETRYABLE


@dataclass(frozen=True)
class RetryResult:
    outcome: RetryOutcome
    video_id: uuid.UUID
    status: VideoStatus | None = None
    attempt: int | None = None
    execution: str | None = None
    queued: bool = False

    def describe(self) -> str:
        if self.outcome is RetryOutcome.RETRIED:
            how = "queued" if self.queued else "will be queued by the sweeper (SQS refused it)"
            return f"video {self.video_id}: attempt {self.attempt} ({self.execution}) {how}"
        if self.outcome is RetryOutcome.GONE:
            return f"no video {self.video_id}"
        if self.outcome is RetryOutcome.SUPERSEDED:
            return f"video {self.video_id} is already on attempt {self.attempt}"
        return f"video {self.video_id} is {self.status}; only a failed video can be retried"


def retry(
    session: Session,
    settings: Settings,
    video_id: uuid.UUID,
    *,
    failed_attempt: int | None = None,
    retryable: Collection[VideoStatus] = RETRYABLE,
) -> RetryResult:
    """Start the next attempt of a video whose status is in `retryable`. `failed_attempt` is the
    attempt a failure report (a DLQ message) names: a newer attempt means it was dealt with."""
    video = session.get(Video, video_id, with_for_update=True)
    if video is None:
        return RetryResult(RetryOutcome.GONE, video_id)
    if video.status is VideoStatus.processed:
        return RetryResult(RetryOutcome.ALREADY_PROCESSED, video_id, video.status, video.attempt)
    if failed_attempt is not None and failed_attempt < video.attempt:
        return RetryResult(RetryOutcome.SUPERSEDED, video_id, video.status, video.attempt)
    if video.status not in retryable:
        return RetryResult(RetryOutcome.NOT_RETRYABLE, video_id, video.status, video.attempt)
    queued = videos.start_new_attempt(session, video, settings)
    return RetryResult(
        RetryOutcome.RETRIED,
        video_id,
        video.status,
        video.attempt,
        video.execution_name,
        queued,
    )


def carry_out(session: Session, settings: Settings, command: RetryCommand) -> RetryReply:
    """An operator's retry command, decided by `retry`, with its answer (the poller sends it on
    the replies queue; the console's API uses it directly, owning the database)."""
    result = retry(
        session,
        settings,
        command.video_id,
        failed_attempt=command.failed_attempt,
        retryable=DLQ_RETRYABLE if command.from_dlq else RETRYABLE,
    )
    return RetryReply(
        request_id=command.request_id,
        video_id=command.video_id,
        outcome=result.outcome,
        status=result.status,
        attempt=result.attempt,
        execution=result.execution,
        queued=result.queued,
        detail=result.describe(),
    )
