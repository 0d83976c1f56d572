"""The jobs-queue message: one per video attempt. Schema documented in docs/messages.md."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


class VideoJobMessage(BaseModel):
    """Published by the API (and the sweeper) to the jobs queue; consumed by the poller."""

    version: Literal[1] = SCHEMA_VERSION
    type: Literal["video.process"] = "video.process"
    video_id: uuid.UUID
    attempt: int = Field(ge=1)
    bucket: str
    input_key: str
    output_prefix: str
    sent_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def execution_name(self) -> str:
        return f"{self.video_id}-{self.attempt}"


def output_prefix_for(video_id: uuid.UUID) -> str:
    return f"processed/{video_id}/"


def upload_key_for(video_id: uuid.UUID) -> str:
    return f"uploads/{video_id}.mp4"
