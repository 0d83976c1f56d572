"""Votes, the public video list and the player rankings.

A vote inserts one row (the unique constraint on (user, video) is the guard against duplicates,
also under concurrency) and bumps the video's and the owner's totals in the same transaction, so
reads never count the votes table.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vidpipe import public_revision
from vidpipe.db.models import User, Video, VideoStatus, Vote, utcnow
from vidpipe.errors import BadRequest, NotFound
from vidpipe.users import city_key


def vote(session: Session, voter: User, video_id: uuid.UUID | None) -> None:
    video = session.get(Video, video_id) if video_id is not None else None
    if video is None or video.status != VideoStatus.processed:
        raise NotFound("no such public video")
    if video.owner_id == voter.id:
        raise BadRequest("you cannot vote for your own video")
    now = utcnow()
    try:
        session.add(Vote(user_id=voter.id, video_id=video.id, created_at=now))
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise BadRequest("you have already voted for this video") from exc
    session.execute(update(Video).where(Video.id == video.id).values(votes=Video.votes + 1))
    session.execute(
        update(User)
        .where(User.id == video.owner_id)
        .values(
            votes_received=User.votes_received + 1,
            first_vote_at=func.coalesce(User.first_vote_at, now),
        )
    )
    public_revision.bump(session)
    session.commit()


def _public_query(columns, city: str | None, page: int, page_size: int):
    query = (
        select(*columns)
        .join(User, Video.owner_id == User.id)
        .where(Video.status == VideoStatus.processed)
    )
    if city:
        query = query.where(User.city_key == city_key(city))
    query = query.order_by(Video.votes.desc(), Video.processed_at, Video.id)
    return query.offset((page - 1) * page_size).limit(page_size)


def public_video_rows(session: Session, *, city: str | None, page: int, page_size: int):
    """The public list as plain rows (id, title, processed_key, poster_key, votes, first/last
    name, city).

    Processed videos, most voted first, without building ORM objects (most of the cost of a
    20-row page when only six columns are rendered).
    """
    columns = (
        Video.id,
        Video.title,
        Video.processed_key,
        Video.poster_key,
        Video.votes,
        User.first_name,
        User.last_name,
        User.city,
    )
    return session.execute(_public_query(columns, city, page, page_size)).all()


def voted_video_ids(session: Session, voter: User, video_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    if not video_ids:
        return set()
    return set(
        session.scalars(
            select(Vote.video_id).where(Vote.user_id == voter.id, Vote.video_id.in_(video_ids))
        )
    )


def _rankings_query(columns, city: str | None, page: int, page_size: int):
    query = select(*columns).where(User.public_videos > 0)
    if city:
        query = query.where(User.city_key == city_key(city))
    query = query.order_by(
        User.votes_received.desc(), User.first_vote_at, User.first_name, User.last_name, User.id
    )
    return query.offset((page - 1) * page_size).limit(page_size)


def rankings(session: Session, *, city: str | None, page: int, page_size: int):
    """Players with a public video, by total votes; ties: earlier first vote, then name.

    Plain rows (first_name, last_name, city, votes_received), not ORM objects: the API renders
    only these four columns.
    """
    columns = (User.first_name, User.last_name, User.city, User.votes_received)
    return session.execute(_rankings_query(columns, city, page, page_size)).all()


def public_video(session: Session, video_id: uuid.UUID | None) -> tuple[Video, User]:
    """A public (processed) video and its owner; NotFound otherwise, as for a vote."""
    video = session.get(Video, video_id) if video_id is not None else None
    if video is None or video.status != VideoStatus.processed:
        raise NotFound("no such public video")
    return video, video.owner
