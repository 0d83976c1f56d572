"""Password hashing (argon2 via pwdlib) and JWT access tokens (PyJWT)."""

from __future__ import annotations

import gzip
import threading
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from vidpipe.settings import Settings, get_settings

# argon2id in the last of OWASP's five minimum configurations (7 MiB, 5 passes, 1 lane), which
# the Password Storage Cheat Sheet rates "an equal level of defense" as its 19 MiB, 2 passes:
# here it costs ~25% less CPU (its memory stays in the cache) and holds 7 MiB per sign-in in
# flight instead of 19. pwdlib's default (64 MiB, 3 passes, 4 lanes) costs ~150 ms of CPU per
# login. Hashes made with other parameters still verify and are upgraded at sign-in.
password_hash = PasswordHash((Argon2Hasher(time_cost=5, memory_cost=7168, parallelism=1),))
# Verified against when the email is unknown, so a wrong email costs the same time as a wrong
# password and login timing does not reveal which accounts exist.
_DUMMY_HASH = password_hash.hash("not-a-real-password")
ALGORITHM = "HS256"


@lru_cache(maxsize=1)
def _hash_slots() -> threading.BoundedSemaphore:
    """The process's password-hash slots (VIDPIPE_PASSWORD_HASH_CONCURRENCY): a burst of
    sign-ins queues here instead of holding argon2's memory once per thread-pool thread."""
    return threading.BoundedSemaphore(get_settings().password_hash_concurrency)


def hash_password(password: str) -> str:
    with _hash_slots():
        return password_hash.hash(password)


def verify_password(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """(valid, new_hash): new_hash is set when the stored hash should be upgraded."""
    with _hash_slots():
        if hashed is None:
            password_hash.verify(password, _DUMMY_HASH)
            return False, None
        return password_hash.verify_and_update(password, hashed)


def create_access_token(user_id: uuid.UUID, settings: Settings) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(seconds=settings.jwt_ttl_seconds),
    }
    return jwt.encode(claims, settings.jwt_key(), algorithm=ALGORITHM)


class InvalidToken(Exception):
    pass


def user_id_from_token(token: str, settings: Settings) -> uuid.UUID:
    """The token's subject; raises InvalidToken when it is expired, tampered or malformed."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_key(),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
        return uuid.UUID(claims["sub"])
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise InvalidToken("invalid token") from exc


# --- password policy ----------------------------------------------------------------------

# The 20,000 most common passwords (Royce Williams' list, as shipped by Django 5.2.8 in
# django/contrib/auth/common-passwords.txt.gz, BSD-3-Clause): bundled, never fetched at run time.
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problem(password: str) -> str | None:
    """Why a new password is refused (None when it is acceptable); length is checked by the API."""
    if not password.strip():
        return "password must not be only spaces"
    if password.strip().lower() in common_passwords():
        return "password is one of the most common passwords; choose another"
    return None
