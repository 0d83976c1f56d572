"""What the operators' console reads (the API's `/api/console/...` routes serve it).

The pipeline's executions and one execution's detail come from Step Functions (the same calls
locally against moto and in AWS), joined with the videos and runs in the database; the queues'
depths from SQS (GetQueueAttributes) and the videos being processed from the database. AWS
errors (BotoCoreError, ClientError) reach the caller, which says the dependency is unavailable.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vidpipe import aws, executions, history, runs
from vidpipe.contracts import parse_execution_name
from vidpipe.db.models import Video, VideoStatus
from vidpipe.errors import NotFound
from vidpipe.settings import Settings

QUEUE_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def execution_summary(item: dict[str, Any]) -> dict[str, Any]:
    """An execution as ListExecutions or DescribeExecution gives it -> name, video_id, attempt
    (None when the name is not `<video_id>-<attempt>`), status, start_date, stop_date and
    duration_seconds (None while it runs)."""
    parsed = parse_execution_name(item["name"])
    start, stop = item["startDate"], item.get("stopDate")
    return {
        "name": item["name"],
        "video_id": parsed[0] if parsed else None,
        "attempt": parsed[1] if parsed else None,
        "status": item["status"],
        "start_date": start,
        "stop_date": stop,
        "duration_seconds": round((stop - start).total_seconds(), 3) if stop else None,
    }


def with_videos(session: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each summary with its video's title and video_status (None when the video is gone)."""
    ids = {item["video_id"] for item in items if item["video_id"]}
    found = (
        {v.id: v for v in session.scalars(select(Video).where(Video.id.in_(ids)))} if ids else {}
    )
    for item in items:
        video = found.get(item["video_id"]) if item["video_id"] else None
        item["title"] = video.title if video is not None else None
        item["video_status"] = video.status if video is not None else None
    return items


def list_executions(
    session: Session, settings: Settings, status: str | None, limit: int, next_token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the pipeline's executions (summaries with their videos), newest first, and
    the token of the next page. An expired or foreign token: ClientError `InvalidToken`."""
    kwargs: dict[str, Any] = {"stateMachineArn": settings.state_machine_arn, "maxResults": limit}
    if status:
        kwargs["statusFilter"] = status
    if next_token:
        kwargs["nextToken"] = next_token
    page = aws.client("stepfunctions").list_executions(**kwargs)
    # ListExecutions answers newest first (AWS and moto); sorted again so the page says so.
    items = sorted(
        (execution_summary(item) for item in page["executions"]),
        key=lambda e: e["start_date"],
        reverse=True,
    )
    return with_videos(session, items), page.get("nextToken")


def _video(video: Video | None) -> dict[str, Any] | None:
    if video is None:
        return None
    return {
        "video_id": str(video.id),
        "title": video.title,
        "status": video.status,
        "attempt": video.attempt,
        "error": video.error,
    }


def execution_detail(session: Session, settings: Settings, name: str) -> dict[str, Any]:
    """One execution: `execution` (its summary with error and cause), the state machine
    `definition` it ran (the ASL file as deployed, placeholders filled in), the `path` it took
    (`history.state_path`), its `events` (the rows of `vidpipe history`), the video's `runs`, the
    `run` of this attempt and the `video` (None when gone). NotFound when there is no such
    execution; the orchestrator is asked before the database."""
    parsed = parse_execution_name(name)
    if parsed is None:
        raise NotFound(f"no execution {name}")
    video_id, attempt = parsed
    sfn = aws.client("stepfunctions")
    arn = executions.execution_arn(name, settings)
    try:
        described = sfn.describe_execution(executionArn=arn)
        machine = sfn.describe_state_machine_for_execution(executionArn=arn)
        rows = history.timeline(history.fetch_events(arn))
    except history.NoHistory as exc:
        raise NotFound(f"no execution {name}") from exc
    except ClientError as exc:
        if aws.is_not_found(exc):
            raise NotFound(f"no execution {name}") from exc
        raise
    video_runs = [runs.as_dict(run) for run in runs.for_video(session, video_id)]
    return {
        "execution": execution_summary(described)
        | {"error": described.get("error"), "cause": described.get("cause")},
        "definition": json.loads(machine["definition"]),
        "path": history.state_path(rows),
        "events": rows,
        "runs": video_runs,
        "run": next((run for run in video_runs if run["attempt"] == attempt), None),
        "video": _video(session.get(Video, video_id)),
    }


def queue_depths(settings: Settings) -> list[dict[str, Any]]:
    """The approximate depths of the configured queues (jobs, status, dlq)."""
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
    """The videos being processed, longest first, with their execution and progress."""
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


def queues(session: Session, settings: Settings) -> dict[str, Any]:
    """`queues`: the depths (SQS, asked first); `running`: the videos being processed."""
    return {"queues": queue_depths(settings), "running": running_jobs(session)}
