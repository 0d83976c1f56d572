"""Jobs queue -> StartExecution, one execution per message, named `<video_id>-<attempt>`.

The message is deleted only after the execution exists (started now, or ExecutionAlreadyExists:
a duplicate delivery). How many executions run at once is limited by counting RUNNING executions
with ListExecutions, which holds across several poller tasks (an in-process semaphore would not);
over capacity the poller stops receiving and the messages wait in the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from vidpipe import aws
from vidpipe.db.models import Video
from vidpipe.messages import VideoJobMessage
from vidpipe.settings import Settings

log = logging.getLogger(__name__)


def count_running(settings: Settings, limit: int) -> int:
    """RUNNING executions of the pipeline, counted up to `limit` (no need to page further)."""
    sfn = aws.client("stepfunctions")
    count, token = 0, None
    while True:
        kwargs = {
            "stateMachineArn": settings.state_machine_arn,
            "statusFilter": "RUNNING",
            "maxResults": min(max(limit, 1), 1000),
        }
        if token:
            kwargs["nextToken"] = token
        page = sfn.list_executions(**kwargs)
        count += len(page["executions"])
        token = page.get("nextToken")
        if count >= limit or not token:
            return count


@dataclass
class JobOutcome:
    action: str  # started | duplicate | stale | invalid | error
    execution: str | None = None


def handle_job_message(
    body: str, settings: Settings, session_factory: sessionmaker[Session]
) -> JobOutcome:
    """Start the execution for one jobs message. `invalid` and `error` keep the message (it comes
    back after the visibility timeout; after maxReceiveCount the queue moves it to the DLQ)."""
    try:
        message = VideoJobMessage.model_validate_json(body)
    except ValidationError as exc:
        log.error("jobs message is not a VideoJobMessage, left for the DLQ: %s", exc)
        return JobOutcome("invalid")
    name = message.execution_name
    with session_factory() as session:
        video = session.get(Video, message.video_id)
        if video is None or message.attempt != video.attempt:
            # Deleted, or superseded by a newer attempt (retry, re-drive): nothing to run.
            log.info("jobs message %s is stale (video deleted or attempt superseded)", name)
            return JobOutcome("stale", name)
    try:
        aws.client("stepfunctions").start_execution(
            stateMachineArn=settings.state_machine_arn, name=name, input=body
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            log.info("execution %s already exists: duplicate delivery", name)
            return JobOutcome("duplicate", name)
        log.warning("StartExecution %s failed: %s", name, exc)
        return JobOutcome("error", name)
    except BotoCoreError as exc:
        log.warning("StartExecution %s failed: %s", name, exc)
        return JobOutcome("error", name)
    log.info("execution %s started", name)
    return JobOutcome("started", name)
