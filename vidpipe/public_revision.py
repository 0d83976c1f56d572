"""The change counter of what every visitor sees: the public list and the rankings.

Every change to them (a vote, a newly processed video) bumps the counter in its own transaction,
as its last statement (the row lock is then held only until the commit). A reader that reads the
counter before the rows gets rows at least as new as the counter says, so a page rendered from
them may be kept until the counter moves (api/routes/public.py keeps one cache per process).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vidpipe.db.models import PublicRevision

ROW_ID = 1  # the single row, inserted by migration 0004


def bump(session: Session) -> None:
    session.execute(
        update(PublicRevision)
        .where(PublicRevision.id == ROW_ID)
        .values(revision=PublicRevision.revision + 1)
    )


def current(session: Session) -> int:
    return session.execute(
        select(PublicRevision.revision).where(PublicRevision.id == ROW_ID)
    ).scalar_one()
