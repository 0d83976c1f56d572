"""Video lifecycle operations shared by the API, the poller and the CLI.

The database is the source of truth. A message is sent to the jobs queue only after the video row
is committed, and `enqueued_at` records that SQS accepted it: a row left `uploaded` with no
`enqueued_at` (SQS unreachable after boto3's retries, or the process died in between) is re-sent
by `resend_unqueued`, which the poller runs periodically and `vidpipe up` runs on start.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import CursorResult, false, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, sessionmaker

from vidpipe import aws, executions, public_revision, runs, storage
from vidpipe.contracts import VideoJobMessage, output_prefix_for, upload_key_for
from vidpipe.db.models import User, Video, VideoStatus, utcnow
from vidpipe.errors import BadRequest, Forbidden, NotFound, Unavailable
from vidpipe.settings import Settings

log = logging.getLogger(__name__)


def job_message(video: Video, settings: Settings) -> VideoJobMessage:
    return VideoJobMessage(
        video_id=video.id,
        attempt=video.attempt,
        bucket=settings.bucket,
        input_key=video.original_key,
        output_prefix=output_prefix_for(video.id),
    )


def publish(session: Session, video: Video, settings: Settings) -> bool:
    """Send the job message for the video's current attempt; True when SQS accepted it.

    The caller has committed the row. On failure the row keeps `enqueued_at` NULL so the sweeper
    re-sends it; the upload itself is never lost.
    """
    message = job_message(video, settings)
    try:
        aws.client("sqs").send_message(
            QueueUrl=settings.jobs_queue_url, MessageBody=message.model_dump_json()
        )
    except (BotoCoreError, ClientError) as exc:
        log.warning("jobs queue refused video %s attempt %s: %s", video.id, video.attempt, exc)
        return False
    session.execute(
        update(Video)
        .where(Video.id == video.id, Video.attempt == video.attempt)
        .values(enqueued_at=utcnow())
    )
    session.commit()
    return True


def resend_unqueued(session: Session, settings: Settings, older_than: float | None = None) -> int:
    """Re-send messages for uploaded videos whose message SQS never accepted. Returns the count."""
    age = settings.resend_after_seconds if older_than is None else older_than
    cutoff = datetime.now(UTC) - timedelta(seconds=age)
    videos = session.scalars(
        select(Video).where(
            Video.status == VideoStatus.uploaded,
            Video.enqueued_at.is_(None),
            Video.updated_at <= cutoff,
        )
    ).all()
    return sum(publish(session, video, settings) for video in videos)


def start_new_attempt(session: Session, video: Video, settings: Settings) -> bool:
    """Queue the next attempt of a video (operator retry, restart re-drive)."""
    video.attempt += 1
    video.status = VideoStatus.uploaded
    video.error = None
    video.enqueued_at = None
    video.progress = None
    session.commit()
    return publish(session, video, settings)


def _current(session: Session, video_id: uuid.UUID, attempt: int) -> Video | None:
    """The video if this status update belongs to its current attempt; stale or deleted -> None."""
    video = session.get(Video, video_id, with_for_update=True)
    if video is None or attempt != video.attempt:
        return None
    return video


def mark_processing(session: Session, video_id: uuid.UUID, attempt: int) -> bool:
    video = _current(session, video_id, attempt)
    # Only an attempt that has not ended can start: a redelivered "processing" update must not
    # turn a failed (or processed) video back into a processing one.
    if video is None or video.status not in (
        VideoStatus.uploaded,
        VideoStatus.processing,
    ):
        return False
    if video.status != VideoStatus.processing:
        video.status = VideoStatus.processing
        video.processing_at = utcnow()
        video.error = None
        video.progress = None
    return True


def mark_progress(session: Session, video_id: uuid.UUID, attempt: int, progress: int) -> bool:
    """The job's progress of the current attempt of a processing video, never backwards (progress
    messages may arrive late or out of order). One conditional UPDATE: no row lock needed."""
    changed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Video)
        .where(
            Video.id == video_id,
            Video.attempt == attempt,
            Video.status == VideoStatus.processing,
            or_(Video.progress.is_(None), Video.progress < progress),
        )
        .values(progress=progress)
        .execution_options(synchronize_session=False)
    )
    return changed.rowcount == 1


def mark_processed(
    session: Session,
    video_id: uuid.UUID,
    attempt: int,
    result: dict[str, Any],
    settings: Settings,
) -> bool:
    """Record the job's output and the run (its cost); the video becomes public. Idempotent.

    Output that lands after its video was deleted is removed: `delete_own` removed the files that
    existed then, the job wrote after. (A stale attempt's output is left alone: it shares the
    prefix with the current attempt's.)"""
    video = _current(session, video_id, attempt)
    if video is None and session.get(Video, video_id) is None:
        storage.delete_objects([], [output_prefix_for(video_id)], settings)
        return False
    if video is None or video.status == VideoStatus.processed:
        return False
    video.status = VideoStatus.processed
    video.processed_key = result["output_key"]
    video.poster_key = result.get("poster_key")
    video.duration_seconds = result.get("duration_seconds")
    video.ffmpeg_wall_seconds = result.get("ffmpeg_wall_seconds")
    video.processed_at = utcnow()
    video.error = None
    video.progress = 100
    runs.record(session, video, VideoStatus.processed, settings, result)
    session.execute(
        update(User).where(User.id == video.owner_id).values(public_videos=User.public_videos + 1)
    )
    public_revision.bump(session)  # last: the counter's row lock lasts only until the commit
    return True


def mark_failed(
    session: Session, video_id: uuid.UUID, attempt: int, reason: str, settings: Settings
) -> bool:
    """Record a failed run with a reason the player can read. A processed video stays processed."""
    video = _current(session, video_id, attempt)
    if video is None or video.status == VideoStatus.processed:
        return False
    video.status = VideoStatus.failed
    video.error = reason
    runs.record(session, video, VideoStatus.failed, settings)
    return True


# --- player-facing operations -------------------------------------------------------------


def create_video(
    session: Session, *, video_id: uuid.UUID, owner: User, title: str, key: str, size: int
) -> Video:
    video = Video(
        id=video_id,
        owner_id=owner.id,
        title=title,
        original_key=key,
        size_bytes=size,
        status=VideoStatus.uploaded,
    )
    session.add(video)
    session.commit()
    return video


def upload(
    sessions: sessionmaker[Session],
    *,
    owner: User,
    title: str,
    fileobj: BinaryIO,
    size: int,
    settings: Settings,
) -> tuple[Video, bool]:
    """Store a validated upload, record it and queue it: (video, whether SQS accepted it).

    Order: S3 first with no database connection held (a slow S3 must not starve the pool), then
    one short transaction for the row, then the job message. A row that cannot be written leaves
    no orphan object behind; a refused message is re-sent later by `resend_unqueued`.
    """
    video_id = uuid.uuid4()
    key = upload_key_for(video_id)
    try:
        storage.upload_stream(fileobj, key, settings)
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("storage is unavailable, try again later") from exc
    with sessions() as session:
        try:
            video = create_video(
                session, video_id=video_id, owner=owner, title=title, key=key, size=size
            )
        except SQLAlchemyError as exc:
            storage.delete_objects([key], [], settings)
            raise Unavailable("database unavailable, try again later") from exc
        # The commit above released the connection; publish takes one again only after SQS.
        queued = publish(session, video, settings)
    return video, queued


def list_own(session: Session, owner: User) -> list[Video]:
    return list(
        session.scalars(
            select(Video)
            .where(Video.owner_id == owner.id)
            .order_by(Video.uploaded_at.desc(), Video.id)
        )
    )


def get_own(session: Session, owner: User, video_id: uuid.UUID | None) -> Video:
    """The caller's video; NotFound for an unknown id, Forbidden for someone else's."""
    video = session.get(Video, video_id) if video_id is not None else None
    return check_own(owner, video)


def check_own(owner: User, video: Video | None) -> Video:
    if video is None:
        raise NotFound("video not found")
    if video.owner_id != owner.id:
        raise Forbidden("this video belongs to another player")
    return video


async def user_and_video(
    session: AsyncSession, user_id: uuid.UUID, video_id: uuid.UUID | None
) -> tuple[User | None, Video | None]:
    """The account and the video, in one statement (the video whoever owns it); (None, None)
    when the account does not exist. Async: the API runs this read on its event loop."""
    # A malformed id (None) names no video: the join then matches nothing, the account is read.
    joined = Video.id == video_id if video_id is not None else false()
    result = await session.execute(
        select(User, Video).outerjoin(Video, joined).where(User.id == user_id)
    )
    row = result.first()
    return (row[0], row[1]) if row else (None, None)


def delete_own(
    session: Session, owner: User, video_id: uuid.UUID | None, settings: Settings
) -> uuid.UUID:
    """Delete a video that is not public: stop its run, remove its files, then its row; return
    its id."""
    video = get_own(session, owner, video_id)
    deleted = video.id
    if video.status == VideoStatus.processed:
        raise BadRequest("a processed video is public for voting and cannot be deleted")
    # End the read transaction: no pooled connection is held while the orchestrator and S3 answer.
    session.commit()
    if video.status in (VideoStatus.uploaded, VideoStatus.processing):
        executions.stop(video.execution_name, settings, cause="video deleted by its owner")
    try:
        storage.delete_objects([video.original_key], [output_prefix_for(video.id)], settings)
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("storage is unavailable, try again later") from exc
    session.delete(video)
    session.commit()
    return deleted
