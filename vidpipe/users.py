"""Player accounts: sign-up and credential checks."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vidpipe import login_throttle
from vidpipe.db.models import User
from vidpipe.errors import BadRequest, Unauthorized
from vidpipe.security import hash_password, password_problem, verify_password

DUPLICATE_EMAIL = "an account with this email already exists"


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
    address: str | None = None,
) -> User:
    """Create an account. The contract answers a taken email with 400, so sign-up necessarily
    tells whether an email is registered; it tells no more than that: the password is hashed
    first either way (a taken email answers no faster), and each taken-email answer counts
    against the client address's sign-in throttle, so emails cannot be enumerated in bulk."""
    problem = password_problem(password)
    if problem is not None:
        raise BadRequest(f"password1: {problem}")
    keys = [(login_throttle.address_key(address), login_throttle.ADDRESS)] if address else []
    if keys:
        login_throttle.check(session, keys)
        session.commit()  # ends the read: no connection held during the hash
    email = normalise_email(email)
    password_hash = hash_password(password)
    # The unique constraint is the real guard; this check only gives the common case a clear path.
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        if keys:
            login_throttle.count(session, keys)
        raise BadRequest(DUPLICATE_EMAIL)
    user = User(
        first_name=first_name,
        last_name=last_name,
        email=email,
        password_hash=password_hash,
        city=city,
        city_key=city_key(city),
        country=country,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise BadRequest(DUPLICATE_EMAIL) from exc
    return user


def authenticate(session: Session, user: User | None, password: str) -> User | None:
    """`user` when `password` is theirs (a missing account costs the same hash)."""
    valid, upgraded = verify_password(password, user.password_hash if user else None)
    if not valid or user is None:
        return None
    if upgraded is not None:
        user.password_hash = upgraded
        session.commit()
    return user


def sign_in(session: Session, email: str, password: str, address: str) -> User:
    """Check the credentials under the per-account and per-address throttle.

    Each step is one atomic statement, so `session` may be an autocommit one (the API's: a
    successful sign-in is then four statements and two pool checkouts, no BEGIN/COMMIT); the
    connection goes back to the pool before the hash."""
    email = normalise_email(email)
    account = (login_throttle.account_key(email), login_throttle.ACCOUNT)
    by_address = (login_throttle.address_key(address), login_throttle.ADDRESS)
    login_throttle.check(session, [account, by_address])
    user = session.scalar(select(User).where(User.email == email))
    # The account's attempt counts before the check, so parallel guesses cannot slip through;
    # the address counts only real failures, so many people signing in at once behind one
    # address (an office, a load test) are never blocked by attempts still in flight.
    login_throttle.count(session, [account])  # commits: the hash runs with no connection held
    signed_in = authenticate(session, user, password)
    if signed_in is None:
        login_throttle.count(session, [by_address])
        raise Unauthorized("wrong email or password")
    login_throttle.succeeded(session, account[0])
    return signed_in


def get_user(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def set_operator(session: Session, email: str, is_operator: bool) -> User | None:
    """Grant or revoke the operator role (the console); None when no account has that email."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        return None
    user.is_operator = is_operator
    session.commit()
    return user
