"""SQLAlchemy 2 models: users (players), videos and votes.

Vote totals are kept on the video and on its owner, updated in the same transaction as the vote,
so the public list and the rankings never count the votes table.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from vidpipe.contracts import execution_name


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class VideoStatus(enum.StrEnum):
    uploaded = "uploaded"
    processing = "processing"
    processed = "processed"
    failed = "failed"


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(100))
    # Lower-cased city so the city filters are case-insensitive and still use an index.
    city_key: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Operators see the console (web app); granted by the CLI, never through the public API.
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # Ranking aggregates, maintained with the votes and the processed transitions.
    public_videos: Mapped[int] = mapped_column(Integer, default=0)
    votes_received: Mapped[int] = mapped_column(BigInteger, default=0)
    first_vote_at: Mapped[datetime | None] = mapped_column()

    videos: Mapped[list[Video]] = relationship(back_populates="owner")

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    # Rankings order: votes, then the earlier first vote, then the name. Only players with a
    # public video are ranked; a zero-vote group has NULL first_vote_at throughout, so NULL
    # ordering never matters. Partial indexes keep unranked sign-ups out.
    _ranking_order = (votes_received.desc(), "first_vote_at", "first_name", "last_name", "id")
    _ranked_only: dict[str, Any] = {
        "postgresql_where": public_videos > 0,
        "sqlite_where": public_videos > 0,
    }
    __table_args__ = (
        Index("ix_users_ranking", *_ranking_order, **_ranked_only),
        Index("ix_users_city_ranking", "city_key", *_ranking_order, **_ranked_only),
    )


class Video(Base):
    __tablename__ = "videos"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    # Stored as its value in a VARCHAR(16) (no native enum: adding a status needs no DDL).
    status: Mapped[VideoStatus] = mapped_column(
        Enum(
            VideoStatus,
            native_enum=False,
            length=16,
            create_constraint=False,
            values_callable=lambda statuses: [s.value for s in statuses],
        ),
        default=VideoStatus.uploaded,
    )
    # Each processing run is attempt N with the execution name `<video_id>-<N>`.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    original_key: Mapped[str] = mapped_column(String(300))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    processed_key: Mapped[str | None] = mapped_column(String(300))
    poster_key: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    ffmpeg_wall_seconds: Mapped[float | None] = mapped_column(Float)
    # The current attempt's transcode progress, 0..100 (video.progress messages); NULL until the
    # job reports some, and again when a new attempt starts.
    progress: Mapped[int | None] = mapped_column(Integer)
    votes: Mapped[int] = mapped_column(BigInteger, default=0)

    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set once the jobs queue accepted the message for the current attempt; NULL means the
    # sweeper must (re)send it.
    enqueued_at: Mapped[datetime | None] = mapped_column()
    processing_at: Mapped[datetime | None] = mapped_column()
    processed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship(back_populates="videos")

    @property
    def execution_name(self) -> str:
        return execution_name(self.id, self.attempt)

    __table_args__ = (
        Index("ix_videos_owner", "owner_id", "uploaded_at"),
        Index("ix_videos_public", "status", votes.desc(), "processed_at", "id"),
        Index("ix_videos_status_updated", "status", "updated_at"),
    )


class Vote(Base):
    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("user_id", "video_id", name="uq_votes_user_video"),
        Index("ix_votes_video", "video_id"),
    )


class LoginThrottle(Base):
    """Failed sign-in attempts per account or client address, shared by every API task.

    `key` is a SHA-256 of the kind and the value ("account:<email>", "address:<ip>") so no raw
    email or address is stored and the key length is bounded.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column()
    blocked_until: Mapped[datetime | None] = mapped_column()


class VideoRun(Base):
    """One processing attempt that ended (processed or failed) and what it cost.

    Written by the poller with the final status. No foreign key to videos: a deleted video's
    runs were still paid for, and the console's cost per day must keep counting them. The
    resource figures come from the job's result, so a failed run has none.
    """

    __tablename__ = "video_runs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    video_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # processed | failed
    started_at: Mapped[datetime | None] = mapped_column()  # the attempt became `processing`
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
    wall_seconds: Mapped[float | None] = mapped_column(Float)
    cpu_seconds: Mapped[float | None] = mapped_column(Float)
    peak_memory_mb: Mapped[float | None] = mapped_column(Float)
    input_bytes: Mapped[int | None] = mapped_column(BigInteger)
    output_bytes: Mapped[int | None] = mapped_column(BigInteger)
    task_vcpu: Mapped[float | None] = mapped_column(Float)
    task_memory_gb: Mapped[float | None] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)

    @property
    def processing_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    __table_args__ = (
        UniqueConstraint("video_id", "attempt", name="uq_video_runs_attempt"),
        Index("ix_video_runs_finished", "finished_at"),
    )


class PublicRevision(Base):
    """One row counting the changes to what every visitor sees (the public list, the rankings).

    Bumped in the same transaction as each change (vidpipe.public_revision), so an API process
    can keep its rendered public pages for as long as the count stays the same.
    """

    __tablename__ = "public_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
