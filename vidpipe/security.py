"""Password hashing (argon2 via pwdlib) and JWT access tokens (PyJWT)."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from vidpipe.settings import Settings, get_settings

# argon2id in the last of OWASP's five minimum configurations (7 MiB, 5 passes, 1 lane), which
# the Password Storage Cheat Sheet rates "an equal level of defense" as its 19 MiB, 2 passes:
# here it costs ~25% less CPU (its memory stays in the cache) and each hashing thread keeps
# 7 MiB instead of 19. pwdlib's default (64 MiB, 3 passes, 4 lanes) costs ~150 ms of CPU per
# login. Hashes made with other parameters still verify and are upgraded at sign-in.
password_hash = PasswordHash((Argon2Hasher(time_cost=5, memory_cost=7168, parallelism=1),))
# Verified against when the email is unknown, so a wrong email costs the same time as a wrong
# password and login timing does not reveal which accounts exist.
_DUMMY_HASH = password_hash.hash("not-a-real-password")
ALGORITHM = "HS256"
T = TypeVar("T")


@lru_cache(maxsize=1)
def _hashing_threads() -> ThreadPoolExecutor:
    """The process's password-hashing threads (VIDPIPE_PASSWORD_HASH_CONCURRENCY); a burst of
    sign-ins queues for them. Not the thread pool's 40 threads: each hash takes argon2's memory
    from its thread's malloc arena, and the arena keeps it for the thread's next allocation, so
    hashing on every pool thread left up to an arena's worth each (bench/login_burst_memory.py)."""
    return ThreadPoolExecutor(
        max_workers=get_settings().password_hash_concurrency, thread_name_prefix="password-hash"
    )


def _on_hashing_thread(hashing: Callable[..., T], *args: str) -> T:
    return _hashing_threads().submit(hashing, *args).result()


def hash_password(password: str) -> str:
    return _on_hashing_thread(password_hash.hash, password)


def verify_password(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """(valid, new_hash): new_hash is set when the stored hash should be upgraded."""
    if hashed is None:
        _on_hashing_thread(password_hash.verify, password, _DUMMY_HASH)
        return False, None
    return _on_hashing_thread(password_hash.verify_and_update, password, hashed)


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
