"""Request and response bodies of the public contract (shared/spec/api-contract.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name
    last_name: Name
    email: EmailStr
    password1: Annotated[str, Field(min_length=8, max_length=1024)]
    password2: Annotated[str, Field(max_length=1024)]
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
    email: Annotated[str, Field(max_length=320)]
    password: Annotated[str, Field(max_length=1024)]


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


class Paging(BaseModel):
    city: Annotated[str | None, Field(max_length=100)] = None
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    page_size: Annotated[int, Field(ge=1, le=100)] = 20
