"""GET /api/videos/{video_id}/history: the owner's view of the processing run's history."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import CurrentUser, SessionDep, SettingsDep, parse_video_id
from vidpipe import history, videos
from vidpipe.errors import Unavailable

router = APIRouter(prefix="/api/videos", tags=["videos"])


class TimelineRow(BaseModel):
    id: int
    time: str
    elapsed_seconds: float
    state: str | None
    event: str
    duration_seconds: float | None
    error: str | None
    cause: str | None


@router.get("/{video_id}/history", response_model=list[TimelineRow])
async def video_history(
    video_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
):
    """The current attempt's execution history as timeline rows (empty while the run has not
    started). 401/403/404 as the other video routes; 503 when the orchestrator does not answer."""
    video = await run_in_threadpool(videos.get_own, session, user, parse_video_id(video_id))
    try:
        return await run_in_threadpool(
            history.video_timeline, str(video.id), video.attempt, settings
        )
    except history.NoHistory:
        return []
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the processing history is unavailable, try again later") from exc
