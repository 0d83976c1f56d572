"""Player accounts: sign-up and credential checks."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vidpipe.db.models import User
from vidpipe.errors import BadRequest
from vidpipe.security import hash_password, verify_password


def normalise_email(email: str) -> str:
    return email.strip().lower()


def city_key(city: str) -> str:
    return city.strip().casefold()


def sign_up(
    session: Session,
    *,
    first_name: str,
    last_name: str,
    email: str,
    password: str,
    city: str,
    country: str,
) -> User:
    email = normalise_email(email)
    # The unique constraint is the real guard; this check only gives the common case a clear path.
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise BadRequest("an account with this email already exists")
    user = User(
        first_name=first_name,
        last_name=last_name,
        email=email,
        password_hash=hash_password(password),
        city=city,
        city_key=city_key(city),
        country=country,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise BadRequest("an account with this email already exists") from exc
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    valid, upgraded = verify_password(password, user.password_hash if user else None)
    if not valid or user is None:
        return None
    if upgraded is not None:
        user.password_hash = upgraded
        session.commit()
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)
