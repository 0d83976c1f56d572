"""Rows the tests need as they are, without the API's sign-up (and its argon2 hash)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from vidpipe.db.models import User


def add_player(session: Session) -> User:
    """A committed player with a unique email (no usable password)."""
    user = User(
        first_name="Test",
        last_name="Player",
        email=f"{uuid.uuid4().hex}@x.io",
        password_hash="x",
        city="Cali",
        city_key="cali",
        country="CO",
    )
    session.add(user)
    session.commit()
    return user
