"""Sign-in throttling per account and per client address, kept in the database so that every
API task sees the same counts.

Per account, each attempt is counted *before* the password is checked (so parallel guesses
cannot slip through between the check and the count) and the count is cleared on success; per
address only failures count. After `free` counted attempts, each further one blocks the key for
base * 2^(attempts - free) seconds, capped; a key unused for `forget_after` starts again from
zero. Blocked attempts answer 429 with Retry-After and cost no password hash.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from vidpipe.db.models import LoginThrottle, utcnow
from vidpipe.errors import TooManyRequests


@dataclass(frozen=True)
class Limits:
    free: int
    base_seconds: float
    max_seconds: float
    forget_after: timedelta

    def delay(self, attempts: int) -> float:
        if attempts < self.free:
            return 0.0
        return min(self.base_seconds * 2 ** (attempts - self.free), self.max_seconds)


# One person guessing their own password gets 5 tries at full speed; a whole office behind one
# address gets 20. After that the delay doubles per attempt up to 15 minutes.
ACCOUNT = Limits(free=5, base_seconds=1, max_seconds=900, forget_after=timedelta(hours=1))
ADDRESS = Limits(free=20, base_seconds=1, max_seconds=900, forget_after=timedelta(hours=1))


def account_key(email: str) -> str:
    return hashlib.sha256(f"account:{email}".encode()).hexdigest()


def address_key(address: str) -> str:
    return hashlib.sha256(f"address:{address}".encode()).hexdigest()


def _blocked_seconds(row: LoginThrottle | None, now: datetime) -> float:
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return 0.0
    return (row.blocked_until - now).total_seconds()


def check(session: Session, keys: list[tuple[str, Limits]], now: datetime | None = None) -> None:
    """TooManyRequests (with the seconds to wait) while any of the keys is blocked. Does not
    end the caller's transaction: commit before hashing a password, to hold no connection."""
    now = now or utcnow()
    rows = session.scalars(
        select(LoginThrottle).where(LoginThrottle.key.in_([key for key, _ in keys]))
    ).all()
    wait = max((_blocked_seconds(row, now) for row in rows), default=0.0)
    if wait > 0:
        raise TooManyRequests(
            "too many sign-in attempts; try again later", retry_after=math.ceil(wait)
        )


def count(session: Session, keys: list[tuple[str, Limits]], now: datetime | None = None) -> None:
    """Count one attempt against every key, blocking those past their free attempts.

    Each step is one atomic statement (an upsert that returns the new count; a block that only
    ever extends), so the caller may run them without a transaction: one round trip per key."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for key, limits in keys:
        statement = insert(LoginThrottle).values(
            key=key, failures=1, last_failure_at=now, blocked_until=None
        )
        # The row lock serialises concurrent attempts on the same key.
        attempts = session.scalar(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "failures": case(
                        (LoginThrottle.last_failure_at < now - limits.forget_after, 1),
                        else_=LoginThrottle.failures + 1,
                    ),
                    "last_failure_at": now,
                },
            ).returning(LoginThrottle.failures)
        )
        delay = limits.delay(attempts or 0)
        if delay:
            until = now + timedelta(seconds=delay)
            session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key)
                .where(
                    or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < until)
                )
                .values(blocked_until=until)
            )
    session.commit()


def succeeded(session: Session, account: str) -> None:
    """A successful sign-in forgives the account."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account))
    session.commit()
