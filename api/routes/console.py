"""The operators' console JSON API (`/api/console/...`); the page itself is web/console/.

Operators only (`users.is_operator`, granted with `vidpipe users grant-operator EMAIL`): anyone
else gets 403. Executions, their histories and definitions come from the same Step Functions
calls locally (moto) and in AWS; the queues from SQS; the charts and costs from the database.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, SettingsDep, parse_video_id
from api.schemas import ErrorOut, error_responses
from vidpipe import aws, dlq, executions, history, operations, runs
from vidpipe.contracts import DlqEntry, parse_execution_name
from vidpipe.db.models import User, Video, VideoStatus
from vidpipe.errors import BadRequest, Forbidden, NotFound, Unavailable
from vidpipe.settings import Settings


def operator(user: CurrentUser) -> User:
    if not user.is_operator:
        raise Forbidden("the console is for operators")
    return user


router = APIRouter(
    prefix="/api/console",
    tags=["console"],
    dependencies=[Depends(operator)],
    responses={
        **error_responses(401, 503),
        403: {
            "model": ErrorOut,
            "description": "Not an operator, or a cookie-authenticated change without X-CSRF: 1",
        },
    },
)

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


def _execution(item: dict[str, Any]) -> Execution:
    parsed = parse_execution_name(item["name"])
    start, stop = item["startDate"], item.get("stopDate")
    return Execution(
        name=item["name"],
        video_id=parsed[0] if parsed else None,
        attempt=parsed[1] if parsed else None,
        status=item["status"],
        start_date=start,
        stop_date=stop,
        duration_seconds=round((stop - start).total_seconds(), 3) if stop else None,
    )


def _with_videos(session: Session, items: list[Execution]) -> list[Execution]:
    ids = {item.video_id for item in items if item.video_id}
    if not ids:
        return items
    found = {v.id: v for v in session.scalars(select(Video).where(Video.id.in_(ids)))}
    for item in items:
        video = found.get(item.video_id) if item.video_id else None
        if video is not None:
            item.title, item.video_status = video.title, video.status
    return items


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable(
        f"the orchestrator did not answer ({aws.error_code(exc) or 'network error'})"
    )


def list_executions(
    settings: Settings, status: str | None, limit: int, next_token: str | None
) -> tuple[list[Execution], str | None]:
    kwargs: dict[str, Any] = {"stateMachineArn": settings.state_machine_arn, "maxResults": limit}
    if status:
        kwargs["statusFilter"] = status
    if next_token:
        kwargs["nextToken"] = next_token
    page = aws.client("stepfunctions").list_executions(**kwargs)
    # ListExecutions answers newest first (AWS and moto); sorted again so the page says so.
    items = sorted(
        (_execution(item) for item in page["executions"]), key=lambda e: e.start_date, reverse=True
    )
    return items, page.get("nextToken")


@router.get("/executions", response_model=ExecutionPage, responses=error_responses(400, 404))
async def executions_list(
    session: SessionDep,
    settings: SettingsDep,
    status: ExecutionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=3000)] = None,
):
    """The pipeline's executions, newest first, optionally only those with one status."""
    try:
        items, token = await run_in_threadpool(list_executions, settings, status, limit, next_token)
    except (BotoCoreError, ClientError) as exc:
        if aws.error_code(exc) == "InvalidToken":
            raise NotFound("that page of executions is no longer available") from exc
        raise _unavailable(exc) from exc
    items = await run_in_threadpool(_with_videos, session, items)
    return ExecutionPage(executions=items, next_token=token)


def execution_detail(name: str, settings: Settings) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    arn = executions.execution_arn(name, settings)
    try:
        described = sfn.describe_execution(executionArn=arn)
        # The definition this execution ran (the ASL file as deployed, placeholders filled in).
        machine = sfn.describe_state_machine_for_execution(executionArn=arn)
    except ClientError as exc:
        if aws.is_not_found(exc):
            raise NotFound(f"no execution {name}") from exc
        raise
    rows = history.timeline(history.fetch_events(arn))
    return {
        "execution": _execution(described).model_dump(mode="json")
        | {"error": described.get("error"), "cause": described.get("cause")},
        "definition": json.loads(machine["definition"]),
        "path": history.state_path(rows),
        "events": rows,
    }


@router.get("/executions/{name}", responses=error_responses(404))
async def execution_get(name: str, session: SessionDep, settings: SettingsDep):
    """One execution: its summary (with error and cause), the state machine definition it ran
    (to draw the graph from), the path it took and where it failed, and its timeline (the rows of
    `vidpipe history`)."""
    parsed = parse_execution_name(name)
    if parsed is None:
        raise NotFound(f"no execution {name}")
    try:
        detail = await run_in_threadpool(execution_detail, name, settings)
    except history.NoHistory as exc:
        raise NotFound(f"no execution {name}") from exc
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable(exc) from exc
    video = await run_in_threadpool(session.get, Video, parsed[0])
    video_runs = await run_in_threadpool(runs.for_video, session, parsed[0])
    detail["runs"] = [runs.as_dict(run) for run in video_runs]
    detail["run"] = next((r for r in detail["runs"] if r["attempt"] == parsed[1]), None)
    detail["video"] = (
        None
        if video is None
        else {
            "video_id": str(video.id),
            "title": video.title,
            "status": video.status,
            "attempt": video.attempt,
            "error": video.error,
        }
    )
    return detail


QUEUE_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def queue_depths(settings: Settings) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    out = []
    for name, url in (
        ("jobs", settings.jobs_queue_url),
        ("status", settings.status_queue_url),
        ("dlq", settings.dlq_url),
    ):
        if not url:
            continue
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=QUEUE_ATTRIBUTES)[
            "Attributes"
        ]
        out.append(
            {
                "name": name,
                "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
            }
        )
    return out


def running_jobs(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Video).where(Video.status == VideoStatus.processing).order_by(Video.processing_at)
    )
    return [
        {
            "video_id": str(v.id),
            "execution": v.execution_name,
            "title": v.title,
            "attempt": v.attempt,
            "progress": v.progress,
            "processing_since": v.processing_at.isoformat() if v.processing_at else None,
        }
        for v in rows
    ]


@router.get("/queues")
async def queues(session: SessionDep, settings: SettingsDep):
    """The queues' approximate depths (GetQueueAttributes) and the videos being processed."""
    try:
        depths = await run_in_threadpool(queue_depths, settings)
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the queues did not answer, try again later") from exc
    return {"queues": depths, "running": await run_in_threadpool(running_jobs, session)}


@router.get("/stats", responses=error_responses(400))
async def stats(
    session: SessionDep,
    hours: Annotated[int, Query(ge=1, le=24 * 7)] = 24,
    days: Annotated[int, Query(ge=1, le=366)] = 14,
):
    """For the charts: runs processed and failed per hour, the processing time distribution
    (p50, p95) and the estimated cost per day, from the runs recorded in the database."""
    return await run_in_threadpool(runs.stats, session, hours=hours, days=days)


class DlqPage(BaseModel):
    messages: list[DlqEntry]


@router.get("/dlq", response_model=DlqPage)
async def dlq_list(settings: SettingsDep):
    """The DLQ's messages, read as `vidpipe dlq list` reads them (they stay in the queue)."""
    try:
        return DlqPage(messages=await run_in_threadpool(dlq.entries, settings, 100))
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the DLQ did not answer, try again later") from exc


class ActionOut(BaseModel):
    message: str


@router.post(
    "/videos/{video_id}/retry", response_model=ActionOut, responses=error_responses(400, 404)
)
async def retry(video_id: str, session: SessionDep, settings: SettingsDep):
    """A new attempt of a failed video, as `vidpipe retry VIDEO_ID` does (the DLQ message stays
    until a redrive finds it settled). 404 unknown video; 400 when it cannot be retried now."""
    parsed = parse_video_id(video_id)
    if parsed is None:
        raise NotFound("video not found")
    result = await run_in_threadpool(operations.retry, session, settings, parsed)
    if result.outcome is operations.RetryOutcome.GONE:
        raise NotFound("video not found")
    if result.outcome is not operations.RetryOutcome.RETRIED:
        raise BadRequest(result.describe())
    return ActionOut(message=result.describe())


class RedriveIn(BaseModel):
    # Only these videos' messages (like `--video`); none: every message.
    video_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)


@router.post("/dlq/redrive", response_model=ActionOut, responses=error_responses(400, 413))
async def redrive(body: RedriveIn, request: Request, settings: SettingsDep):
    """`vidpipe dlq redrive`: a new attempt per failed (or never started) video in the DLQ; the
    messages of videos gone, processed or already retried are removed."""
    only = {str(v) for v in body.video_ids or []}
    # The API owns the database: each retry is decided here rather than by the poller.
    retry_all = dlq.retry_in_database(request.app.state.sessionmaker, settings)
    try:
        outcome = await run_in_threadpool(dlq.redrive, settings, retry_all, only, 100)
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the DLQ did not answer, try again later") from exc
    return ActionOut(message="; ".join([*outcome.redriven, outcome.describe()]))
