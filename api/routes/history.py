"""GET /api/videos/{video_id}/history: the owner's view of the processing run's history."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import CurrentUser, SettingsDep, parse_video_id
from api.schemas import TimelineRow, error_responses
from vidpipe import history, videos
from vidpipe.errors import Unavailable

router = APIRouter(prefix="/api/videos", tags=["videos"])


def _own_video(request: Request, user, video_id):
    # A short session: the connection is back in the pool before the orchestrator is asked.
    with request.app.state.sessionmaker() as session:
        return videos.get_own(session, user, parse_video_id(video_id))


@router.get(
    "/{video_id}/history",
    response_model=list[TimelineRow],
    responses=error_responses(401, 403, 404, 503),
)
async def video_history(video_id: str, request: Request, user: CurrentUser, settings: SettingsDep):
    """The current attempt's execution history as timeline rows (empty while the run has not
    started). 401/403/404 as the other video routes; 503 when the orchestrator does not answer."""
    video = await run_in_threadpool(_own_video, request, user, video_id)
    try:
        return await run_in_threadpool(
            history.video_timeline, str(video.id), video.attempt, settings
        )
    except history.NoHistory:
        return []
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the processing history is unavailable, try again later") from exc
