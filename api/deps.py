"""Request dependencies: settings, a database session per request, the authenticated user.

Authentication opens its own short session and closes it before the route runs, so no request
holds a pooled connection while it reads a body or waits on S3 (the routes' own sessions connect
lazily, on their first query).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.orm import Session

from vidpipe.db.models import User
from vidpipe.errors import Forbidden, Unauthorized
from vidpipe.security import InvalidToken, user_id_from_token
from vidpipe.settings import Settings
from vidpipe.users import get_user

SESSION_COOKIE = "vidpipe_session"
CSRF_HEADER = "x-csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, a hop (and a GIL hand-off under load) for a dictionary read.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


async def client_address(request: Request) -> str:
    """The client's IP address. Behind N trusted proxies (VIDPIPE_TRUSTED_PROXY_COUNT, 1 behind
    the ALB) it is the X-Forwarded-For entry the outermost trusted proxy appended; entries further
    left are written by the client and could be anything. With 0, the header is ignored."""
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else "unknown"
    trusted = settings.trusted_proxy_count
    if trusted < 1:
        return peer
    forwarded = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    if not forwarded:
        return peer
    return forwarded[-trusted] if len(forwarded) >= trusted else forwarded[0]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
ClientAddress = Annotated[str, Depends(client_address)]

# Declared for the OpenAPI document only (auto_error=False); `request_token` reads the credential
# so that a missing or malformed one gets our own 401 body.
bearer_scheme = HTTPBearer(auto_error=False, description="JWT from POST /api/auth/login")
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="Set by POST /api/auth/session; unsafe methods also need the header X-CSRF: 1",
)


def request_token(request: Request) -> str | None:
    """The credential sent: the Bearer header wins; the session cookie needs X-CSRF on changes."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("not authenticated: send Authorization: Bearer <token>")
        return token.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    # A browser attaches the cookie to cross-site requests too; a custom header cannot be sent
    # cross-site without a CORS preflight, which this API never grants.
    if request.method in UNSAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden("cookie-authenticated changes need the header X-CSRF: 1")
    return cookie


def required_token(request: Request) -> str:
    token = request_token(request)
    if token is None:
        raise Unauthorized("not authenticated: send Authorization: Bearer <token>")
    return token


def token_user_id(token: str, request: Request) -> uuid.UUID:
    """The account a token names (signature and expiry checked); no database read."""
    try:
        return user_id_from_token(token, request.app.state.settings)
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc


def known_user(user: User | None) -> User:
    """A valid token whose account no longer exists is a 401 like any invalid token."""
    if user is None:
        raise Unauthorized("invalid token")
    return user


def _user_for(token: str, request: Request) -> User:
    user_id = token_user_id(token, request)
    # A short session of its own, closed before the route runs (the user is returned detached).
    with request.app.state.autocommit_sessionmaker() as session:
        return known_user(get_user(session, user_id))


def current_user(
    request: Request,
    _b: Annotated[object, Depends(bearer_scheme)],
    _c: Annotated[object, Depends(cookie_scheme)],
) -> User:
    return _user_for(required_token(request), request)


def optional_user_for(request: Request) -> User | None:
    """The caller when a credential is sent (a bad one is still a 401), else None."""
    token = request_token(request)
    return None if token is None else _user_for(token, request)


def optional_user(
    request: Request,
    _b: Annotated[object, Depends(bearer_scheme)],
    _c: Annotated[object, Depends(cookie_scheme)],
) -> User | None:
    return optional_user_for(request)


CurrentUser = Annotated[User, Depends(current_user)]
# The credential schemes alone, as async dependencies (no thread hop), for the OpenAPI document of
# routes that read the credential themselves (required_token / optional_user_for).
BearerScheme = Annotated[object, Depends(bearer_scheme)]
CookieScheme = Annotated[object, Depends(cookie_scheme)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def parse_video_id(video_id: str) -> uuid.UUID | None:
    """A malformed id names no video: the services answer 404 like for any other unknown id."""
    try:
        return uuid.UUID(video_id)
    except ValueError:
        return None
