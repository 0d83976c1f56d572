"""The operators' console JSON API (`/api/console/...`); the page itself is web/console/.

Operators only (`users.is_operator`, granted with `vidpipe users grant-operator EMAIL`): anyone
else gets 403. What the routes read comes from the core: executions and queues from
vidpipe/console.py (Step Functions and SQS, joined with the database), the charts and costs from
vidpipe/runs.py, the DLQ from vidpipe/dlq.py, retries from vidpipe/operations.py.
"""

from __future__ import annotations

from typing import Annotated

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import CurrentUser, SessionDep, SettingsDep, parse_video_id
from api.schemas import (
    ActionOut,
    DlqPage,
    ErrorOut,
    Execution,
    ExecutionPage,
    ExecutionStatus,
    ExecutionWithError,
    RedriveIn,
    error_responses,
)
from vidpipe import aws, console, dlq, operations, runs
from vidpipe.db.models import User
from vidpipe.errors import BadRequest, Forbidden, NotFound, Unavailable


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


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable(
        f"the orchestrator did not answer ({aws.error_code(exc) or 'network error'})"
    )


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
        items, token = await run_in_threadpool(
            console.list_executions, session, settings, status, limit, next_token
        )
    except (BotoCoreError, ClientError) as exc:
        if aws.error_code(exc) == "InvalidToken":
            raise NotFound("that page of executions is no longer available") from exc
        raise _unavailable(exc) from exc
    return ExecutionPage(executions=[Execution(**item) for item in items], next_token=token)


@router.get("/executions/{name}", responses=error_responses(404))
async def execution_get(name: str, session: SessionDep, settings: SettingsDep):
    """One execution: its summary (with error and cause), the state machine definition it ran
    (to draw the graph from), the path it took and where it failed, and its timeline (the rows of
    `vidpipe history`)."""
    try:
        detail = await run_in_threadpool(console.execution_detail, session, settings, name)
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable(exc) from exc
    return detail | {"execution": ExecutionWithError(**detail["execution"]).model_dump(mode="json")}


@router.get("/queues")
async def queues(session: SessionDep, settings: SettingsDep):
    """The queues' approximate depths (GetQueueAttributes) and the videos being processed."""
    try:
        return await run_in_threadpool(console.queues, session, settings)
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the queues did not answer, try again later") from exc


@router.get("/stats", responses=error_responses(400))
async def stats(
    session: SessionDep,
    hours: Annotated[int, Query(ge=1, le=24 * 7)] = 24,
    days: Annotated[int, Query(ge=1, le=366)] = 14,
):
    """For the charts: runs processed and failed per hour, the processing time distribution
    (p50, p95) and the estimated cost per day, from the runs recorded in the database."""
    return await run_in_threadpool(runs.stats, session, hours=hours, days=days)


@router.get("/dlq", response_model=DlqPage)
async def dlq_list(settings: SettingsDep):
    """The DLQ's messages, read as `vidpipe dlq list` reads them (they stay in the queue)."""
    try:
        return DlqPage(messages=await run_in_threadpool(dlq.entries, settings, 100))
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the DLQ did not answer, try again later") from exc


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
