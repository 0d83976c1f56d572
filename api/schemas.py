"""Request and response bodies of the public contract (shared/spec/api-contract.md)."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from vidpipe.contracts import DlqEntry

# Control characters (C0, DEL, C1: NUL, escape, line breaks...) and lone surrogates, which
# PostgreSQL cannot store and no name, title or password needs.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})


def reject_control_characters(value: Any) -> Any:
    """The one text check of every request field and query parameter (non-strings pass on to
    their own validation)."""
    if isinstance(value, str):
        for char in value:
            if unicodedata.category(char) in _REFUSED_CATEGORIES:
                raise ValueError(f"must not contain control characters (found U+{ord(char):04X})")
    return value


NoControlCharacters = AfterValidator(reject_control_characters)
# Every text field and query parameter is a Text or is declared with NoControlCharacters after
# its constraints (constraints placed after a validator lose their string-specific messages,
# and stripping must happen first).
Text = Annotated[str, NoControlCharacters]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoControlCharacters
]
Email = Annotated[EmailStr, BeforeValidator(reject_control_characters)]


class ErrorOut(BaseModel):
    """Every error answer (4xx and 5xx)."""

    detail: str


_ERRORS: dict[int, dict[str, Any]] = {
    400: {"description": "Bad request: a field, parameter or form is invalid (the reason)"},
    401: {"description": "Not authenticated: no, an expired or an invalid credential"},
    403: {
        "description": "Forbidden: another player's video, or a cookie-authenticated change "
        "without the X-CSRF: 1 header"
    },
    404: {"description": "No such video"},
    413: {"description": "Request body too large (JSON bodies: 64 KiB)"},
    429: {
        "description": "Too many sign-in attempts: wait Retry-After seconds",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "schema": {"type": "integer"},
            }
        },
    },
    503: {"description": "A dependency (database, storage, queue, orchestrator) is unavailable"},
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of an operation, each with the {"detail"} schema."""
    return {code: {"model": ErrorOut, **_ERRORS[code]} for code in codes}


class SignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name
    last_name: Name
    email: Email
    password1: Annotated[str, Field(min_length=8, max_length=1024), NoControlCharacters]
    password2: Annotated[str, Field(max_length=1024), NoControlCharacters]
    city: Name
    country: Name

    @model_validator(mode="after")
    def passwords_match(self) -> SignupIn:
        if self.password1 != self.password2:
            raise ValueError("passwords do not match")
        return self


class SignupOut(BaseModel):
    message: str
    id: uuid.UUID


class LoginIn(BaseModel):
    email: Annotated[str, Field(max_length=320), NoControlCharacters]
    password: Annotated[str, Field(max_length=1024), NoControlCharacters]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class UserOut(BaseModel):
    """The signed-in user (GET /api/auth/me, POST /api/auth/session)."""

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    city: str
    country: str
    is_operator: bool


class SessionOut(BaseModel):
    user: UserOut


class UploadOut(BaseModel):
    message: str
    task_id: str
    video_id: uuid.UUID


class VideoSummary(BaseModel):
    """An item of GET /api/videos; processed_at and processed_url appear once processed."""

    video_id: uuid.UUID
    title: str
    status: str
    uploaded_at: datetime
    processed_at: datetime | None = None
    processed_url: str | None = None


class VideoDetail(BaseModel):
    video_id: uuid.UUID
    title: str
    status: str
    uploaded_at: datetime
    processed_at: datetime | None
    original_url: str | None
    processed_url: str | None
    votes: int
    task_id: str
    error: str | None = None
    # Additive: the poster (JPEG) of a processed clip, a time-limited link like processed_url.
    poster_url: str | None = None
    # Additive: the current attempt's transcode progress, 0..100 while processing (100 once
    # processed), null before the job reports any.
    progress: int | None = None


class MessageOut(BaseModel):
    message: str


class DeleteOut(BaseModel):
    message: str
    video_id: uuid.UUID


class PublicVideo(BaseModel):
    video_id: uuid.UUID
    title: str
    player: str
    city: str
    processed_url: str | None
    votes: int
    # Additive: the clip's poster image (time-limited link).
    poster_url: str | None = None
    # Only for an authenticated caller: whether they have voted for this video.
    voted: bool | None = None


class RankingRow(BaseModel):
    position: int
    username: str
    city: str
    votes: int


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]
    queue: Literal["ok", "unavailable"]
    detail: str | None = None


class Paging(BaseModel):
    city: Annotated[str | None, Field(max_length=100), NoControlCharacters] = None
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    page_size: Annotated[int, Field(ge=1, le=100)] = 20


class TimelineRow(BaseModel):
    id: int
    time: str
    elapsed_seconds: float
    state: str | None
    event: str
    duration_seconds: float | None
    error: str | None
    cause: str | None


# The operators' console (/api/console, api/routes/console.py; read by vidpipe/console.py).

ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


class Execution(BaseModel):
    name: str
    video_id: uuid.UUID | None
    attempt: int | None
    status: str
    start_date: datetime
    stop_date: datetime | None
    duration_seconds: float | None
    # From the database, when the video still exists.
    title: str | None = None
    video_status: str | None = None


class ExecutionPage(BaseModel):
    executions: list[Execution]
    next_token: str | None


class ExecutionWithError(Execution):
    """The `execution` of GET /api/console/executions/{name} (that route has no response model:
    this only serializes it, dates as the list's)."""

    error: str | None = None
    cause: str | None = None


class DlqPage(BaseModel):
    messages: list[DlqEntry]


class ActionOut(BaseModel):
    message: str


class RedriveIn(BaseModel):
    # Only these videos' messages (like `--video`); none: every message.
    video_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)
