"""Re-drive videos that would otherwise stay stuck. The database is the source of truth.

- `resend_unqueued`: uploads whose jobs message SQS never accepted (vidpipe.videos).
- `sweep` (periodic, by the poller): a `processing` video whose execution is not RUNNING (it died
  without recording an outcome, or the orchestrator lost it) gets a new attempt; an `uploaded`
  video whose message was accepted long ago but whose execution never started is re-sent (same
  attempt: a duplicate message is harmless, the execution name is deterministic).
- `redrive_unfinished` (on start after the orchestrator lost its state, i.e. a local restart):
  every `uploaded` or `processing` video gets a new attempt.
A video that keeps dying is failed after MAX_ATTEMPTS, with a DLQ message, instead of looping.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vidpipe import aws, executions, videos
from vidpipe.contracts import DlqEnvelope, StepFunctionsError
from vidpipe.db.models import Video, VideoStatus
from vidpipe.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
GAVE_UP_REASON = "processing was interrupted too many times; please upload the video again"


class RedriveOutcome(enum.StrEnum):
    REDRIVEN = "redriven"  # a new attempt was started
    FAILED = "failed"  # too many attempts: failed, with a DLQ message
    SKIPPED = "skipped"  # another process changed the video first


@dataclass
class SweepReport:
    resent: int = 0
    redriven: int = 0
    failed: int = 0


def execution_status(video: Video, settings: Settings) -> str | None:
    """RUNNING / SUCCEEDED / FAILED / TIMED_OUT / ABORTED, or None when there is no execution."""
    try:
        return aws.client("stepfunctions").describe_execution(
            executionArn=executions.execution_arn(video.execution_name, settings)
        )["status"]
    except ClientError as exc:
        if aws.is_not_found(exc):
            return None
        raise


def redrive(session: Session, video: Video, settings: Settings, why: str) -> RedriveOutcome:
    """A new attempt, or `failed` + a DLQ message once MAX_ATTEMPTS attempts died."""
    if video.attempt >= MAX_ATTEMPTS:
        name = video.execution_name
        if videos.mark_failed(session, video.id, video.attempt, GAVE_UP_REASON, settings):
            session.commit()
            send_to_dlq(video, settings, "Sweeper.TooManyAttempts", f"{name}: {why}")
            log.warning("video %s failed after %d attempts (%s)", video.id, video.attempt, why)
            return RedriveOutcome.FAILED
        session.rollback()
        return RedriveOutcome.SKIPPED
    log.info("re-driving video %s (attempt %d: %s)", video.id, video.attempt, why)
    videos.start_new_attempt(session, video, settings)
    return RedriveOutcome.REDRIVEN


def send_to_dlq(video: Video, settings: Settings, error: str, cause: str) -> None:
    envelope = DlqEnvelope(
        execution=video.execution_name,
        message=videos.job_message(video, settings).model_dump(mode="json"),
        error=StepFunctionsError(Error=error, Cause=cause),
    )
    try:
        aws.client("sqs").send_message(
            QueueUrl=settings.dlq_url, MessageBody=envelope.model_dump_json()
        )
    except (BotoCoreError, ClientError) as exc:
        log.warning("DLQ refused the message for %s: %s", video.id, exc)


def sweep(
    session: Session,
    settings: Settings,
    *,
    processing_grace_seconds: float = 120.0,
    uploaded_stale_seconds: float = 1800.0,
) -> SweepReport:
    report = SweepReport(resent=videos.resend_unqueued(session, settings))
    now = datetime.now(UTC)
    processing = session.scalars(
        select(Video).where(
            Video.status == VideoStatus.processing,
            Video.updated_at <= now - timedelta(seconds=processing_grace_seconds),
        )
    ).all()
    uploaded = session.scalars(
        select(Video).where(
            Video.status == VideoStatus.uploaded,
            Video.enqueued_at.is_not(None),
            Video.enqueued_at <= now - timedelta(seconds=uploaded_stale_seconds),
        )
    ).all()
    for video in processing:
        status = execution_status(video, settings)
        if status == "RUNNING":
            continue
        outcome = redrive(session, video, settings, f"execution {status or 'missing'}")
        report.redriven += outcome is RedriveOutcome.REDRIVEN
        report.failed += outcome is RedriveOutcome.FAILED
    for video in uploaded:
        status = execution_status(video, settings)
        if status == "RUNNING":
            continue
        if status is None:
            report.resent += videos.publish(session, video, settings)
        else:
            outcome = redrive(session, video, settings, f"execution {status} before it started")
            report.redriven += outcome is RedriveOutcome.REDRIVEN
            report.failed += outcome is RedriveOutcome.FAILED
    return report


def redrive_unfinished(session: Session, settings: Settings) -> int:
    """After the orchestrator lost its state: every uploaded/processing video, next attempt."""
    unfinished = session.scalars(
        select(Video).where(Video.status.in_([VideoStatus.uploaded, VideoStatus.processing]))
    ).all()
    return sum(
        redrive(session, video, settings, "the orchestrator restarted") is RedriveOutcome.REDRIVEN
        for video in unfinished
    )
