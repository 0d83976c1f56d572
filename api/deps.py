"""Request dependencies: settings, a database session per request, the authenticated user."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from vidpipe.db.models import User
from vidpipe.errors import Unauthorized
from vidpipe.security import InvalidToken, user_id_from_token
from vidpipe.settings import Settings
from vidpipe.users import get_user


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]

# auto_error=False: we answer a missing token with our own 401 body instead of FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="JWT from POST /api/auth/login")


def _user_from(
    credentials: HTTPAuthorizationCredentials | None, session: Session, settings: Settings
):
    if credentials is None:
        raise Unauthorized("not authenticated: send Authorization: Bearer <token>")
    try:
        user_id = user_id_from_token(credentials.credentials, settings)
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc
    user = get_user(session, user_id)
    if user is None:
        raise Unauthorized("invalid token")
    return user


def current_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    return _user_from(credentials, session, settings)


def optional_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The caller when a token is sent (a bad token is still a 401), else None."""
    return None if credentials is None else _user_from(credentials, session, settings)


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def parse_video_id(video_id: str) -> uuid.UUID | None:
    """A malformed id names no video: the services answer 404 like for any other unknown id."""
    try:
        return uuid.UUID(video_id)
    except ValueError:
        return None
