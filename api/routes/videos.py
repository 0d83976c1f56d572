import uuid

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import CurrentUser, SessionDep, SettingsDep, parse_video_id
from api.schemas import DeleteOut, UploadOut, VideoDetail, VideoSummary
from api.uploads import read_upload_form
from vidpipe import storage, videos
from vidpipe.contracts import upload_key_for
from vidpipe.db.models import Video, VideoStatus
from vidpipe.errors import Unavailable

router = APIRouter(prefix="/api/videos", tags=["videos"])


@router.post(
    "/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
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
async def upload(
    request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> UploadOut:
    form = await read_upload_form(request, settings.max_upload_bytes)
    video_id = uuid.uuid4()
    key = upload_key_for(video_id)
    try:
        await run_in_threadpool(storage.upload_stream, form.file.file, key, settings)
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("storage is unavailable, try again later") from exc
    finally:
        await form.file.close()
    try:
        video = await run_in_threadpool(
            videos.create_video,
            session,
            video_id=video_id,
            owner=user,
            title=form.title,
            key=key,
            size=form.size,
        )
    except SQLAlchemyError as exc:
        # Leave no orphan object behind when the row could not be written.
        await run_in_threadpool(storage.delete_objects, [key], [], settings)
        raise Unavailable("database unavailable, try again later") from exc
    queued = await run_in_threadpool(videos.publish, session, video, settings)
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


@router.get("", response_model=list[VideoSummary], response_model_exclude_none=True)
def list_videos(user: CurrentUser, session: SessionDep, settings: SettingsDep):
    return [_summary(video, settings) for video in videos.list_own(session, user)]


# `error` is present only on failed videos, so the body is rendered here rather than by FastAPI.
@router.get("/{video_id}", responses={200: {"model": VideoDetail}})
def get_video(video_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep):
    video = videos.get_own(session, user, parse_video_id(video_id))
    processed = video.status == VideoStatus.processed
    detail = VideoDetail(
        video_id=video.id,
        title=video.title,
        status=video.status,
        uploaded_at=video.uploaded_at,
        processed_at=video.processed_at,
        original_url=storage.presigned_get(video.original_key, settings),
        processed_url=storage.presigned_get(video.processed_key, settings) if processed else None,
        votes=video.votes,
        task_id=video.execution_name,
        error=video.error if video.status == VideoStatus.failed else None,
    )
    exclude = {"error"} if detail.error is None else set()
    return JSONResponse(detail.model_dump(mode="json", exclude=exclude))


@router.delete("/{video_id}", response_model=DeleteOut)
def delete_video(video_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep):
    deleted = videos.delete_own(session, user, parse_video_id(video_id), settings)
    return DeleteOut(message="video deleted", video_id=deleted)
