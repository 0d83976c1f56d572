from functools import partial

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api import deps
from api.deps import (
    BearerScheme,
    CookieScheme,
    CurrentUser,
    SessionDep,
    SettingsDep,
    parse_video_id,
)
from api.schemas import DeleteOut, UploadOut, VideoDetail, VideoSummary, error_responses
from api.uploads import read_upload_form
from vidpipe import storage, videos
from vidpipe.db.models import Video, VideoStatus
from vidpipe.db.session import read_session
from vidpipe.settings import Settings

router = APIRouter(prefix="/api/videos", tags=["videos"])


@router.post(
    "/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    responses=error_responses(400, 401, 403, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["video_file", "title"],
                        "properties": {
                            "video_file": {"type": "string", "format": "binary"},
                            "title": {"type": "string", "minLength": 1, "maxLength": 200},
                        },
                    }
                }
            },
        }
    },
)
async def upload(request: Request, user: CurrentUser, settings: SettingsDep) -> UploadOut:
    """The body is read with no database connection held (authentication has released its own);
    the service then stores, records and queues the video."""
    form = await read_upload_form(request, settings.max_upload_bytes)
    try:
        video, queued = await run_in_threadpool(
            partial(
                videos.upload,
                request.app.state.sessionmaker,
                owner=user,
                title=form.title,
                fileobj=form.file.file,
                size=form.size,
                settings=settings,
            )
        )
    finally:
        await form.file.close()
    message = "video uploaded and queued for processing"
    if not queued:
        message = "video uploaded; it will be queued for processing shortly"
    return UploadOut(message=message, task_id=video.execution_name, video_id=video.id)


def _summary(video: Video, settings) -> VideoSummary:
    processed = video.status == VideoStatus.processed
    return VideoSummary(
        video_id=video.id,
        title=video.title,
        status=video.status,
        uploaded_at=video.uploaded_at,
        processed_at=video.processed_at if processed else None,
        processed_url=storage.presigned_get(video.processed_key, settings) if processed else None,
    )


@router.get(
    "",
    response_model=list[VideoSummary],
    response_model_exclude_none=True,
    responses=error_responses(401, 503),
)
def list_videos(user: CurrentUser, session: SessionDep, settings: SettingsDep):
    return [_summary(video, settings) for video in videos.list_own(session, user)]


def _media_keys(video: Video) -> dict[str, str | None]:
    """The object behind each media link of the detail (None: the field is null)."""
    processed = video.status == VideoStatus.processed
    return {
        "original_url": video.original_key,
        "processed_url": video.processed_key if processed else None,
        "poster_url": video.poster_key if processed else None,
    }


def _detail(video: Video, urls: dict[str, str | None]) -> JSONResponse:
    detail = VideoDetail(
        video_id=video.id,
        title=video.title,
        status=video.status,
        uploaded_at=video.uploaded_at,
        processed_at=video.processed_at,
        votes=video.votes,
        task_id=video.execution_name,
        error=video.error if video.status == VideoStatus.failed else None,
        progress=video.progress,
        **urls,
    )
    # `error` is present only on failed videos, so the body is rendered here, not by FastAPI.
    exclude = {"error"} if detail.error is None else set()
    return JSONResponse(detail.model_dump(mode="json", exclude=exclude))


def _signed_detail(video: Video, keys: dict[str, str | None], settings: Settings) -> JSONResponse:
    return _detail(
        video, {field: storage.presigned_get(key, settings) for field, key in keys.items()}
    )


@router.get(
    "/{video_id}",
    responses={200: {"model": VideoDetail}, **error_responses(401, 403, 404, 503)},
)
async def get_video(video_id: str, request: Request, _bearer: BearerScheme, _cookie: CookieScheme):
    """The most frequent authenticated read, on the event loop: the token is checked, one
    autocommit statement on the async engine reads the account and the video, and the answer is
    rendered from the presigned links' cache. A link still to sign makes one thread-pool hop,
    which signs them and renders: botocore may fetch or refresh credentials over the network."""
    settings = request.app.state.settings
    user_id = deps.token_user_id(deps.required_token(request), request)
    async with read_session(request.app.state.read_async_sessionmaker) as session:
        user, video = await videos.user_and_video(session, user_id, parse_video_id(video_id))
    video = videos.check_own(deps.known_user(user), video)
    keys = _media_keys(video)
    urls = {
        field: storage.cached_presigned_get(key, settings) if key else None
        for field, key in keys.items()
    }
    if any(key and urls[field] is None for field, key in keys.items()):
        return await run_in_threadpool(_signed_detail, video, keys, settings)
    return _detail(video, urls)


@router.delete(
    "/{video_id}", response_model=DeleteOut, responses=error_responses(400, 401, 403, 404, 503)
)
def delete_video(video_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep):
    deleted = videos.delete_own(session, user, parse_video_id(video_id), settings)
    return DeleteOut(message="video deleted", video_id=deleted)
