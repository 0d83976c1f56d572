"""Jobs queue -> StartExecution, one execution per message, named `<video_id>-<attempt>`.

The message is deleted only after the execution exists (started now, or ExecutionAlreadyExists:
a duplicate delivery). How many executions run at once is limited by counting RUNNING executions
with ListExecutions, which holds across several poller tasks (an in-process semaphore would not);
over capacity the poller stops receiving and the messages wait in the queue.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from vidpipe import aws
from vidpipe.contracts import VideoJobMessage
from vidpipe.db.models import Video
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


class JobAction(enum.StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"  # the execution already exists: a redelivered message
    STALE = "stale"  # the video is gone or on a newer attempt: nothing to run
    INVALID = "invalid"  # not a VideoJobMessage: left for the DLQ
    ERROR = "error"  # StartExecution failed: the message comes back for another try

    @property
    def done(self) -> bool:
        """The message has served its purpose and can be deleted."""
        return self in (JobAction.STARTED, JobAction.DUPLICATE, JobAction.STALE)


@dataclass
class JobOutcome:
    action: JobAction
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
        return JobOutcome(JobAction.INVALID)
    name = message.execution_name
    with session_factory() as session:
        video = session.get(Video, message.video_id)
        if video is None or message.attempt != video.attempt:
            # Deleted, or superseded by a newer attempt (retry, re-drive): nothing to run.
            log.info("jobs message %s is stale (video deleted or attempt superseded)", name)
            return JobOutcome(JobAction.STALE, name)
    try:
        aws.client("stepfunctions").start_execution(
            stateMachineArn=settings.state_machine_arn, name=name, input=body
        )
    except ClientError as exc:
        if aws.error_code(exc) == "ExecutionAlreadyExists":
            log.info("execution %s already exists: duplicate delivery", name)
            return JobOutcome(JobAction.DUPLICATE, name)
        log.warning("StartExecution %s failed: %s", name, exc)
        return JobOutcome(JobAction.ERROR, name)
    except BotoCoreError as exc:
        log.warning("StartExecution %s failed: %s", name, exc)
        return JobOutcome(JobAction.ERROR, name)
    log.info("execution %s started", name)
    return JobOutcome(JobAction.STARTED, name)
