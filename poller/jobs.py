"""Jobs queue -> StartExecution, one execution per message, named `<video_id>-<attempt>`.

The message is deleted only after the execution exists (started now, or ExecutionAlreadyExists:
a duplicate delivery). How many executions run at once is limited by counting RUNNING executions
with ListExecutions, which holds across several poller tasks (an in-process semaphore would not);
over capacity the poller stops receiving and the messages wait in the queue. `RunningExecutions`
keeps that count without spending the account's ListExecutions quota on every poll.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
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


class RunningExecutions:
    """The number of RUNNING executions, re-counted with ListExecutions only when it can have
    dropped: when a run this poller answered ends (`run_ended`, from the status loop), and every
    `refresh_seconds` (runs that end otherwise: other poller tasks, stops, timeouts). Starts are
    added locally, so the count never undershoots what this poller did. An end is visible in
    ListExecutions a moment after the final status is answered: a recount that does not show it
    yet is repeated a few times, `recheck_seconds` apart."""

    def __init__(
        self,
        settings: Settings,
        *,
        refresh_seconds: float,
        recheck_seconds: float = 0.5,
        rechecks: int = 4,
    ) -> None:
        self.settings = settings
        self.refresh_seconds = refresh_seconds
        self.recheck_seconds = recheck_seconds
        self.rechecks = rechecks
        self.list_calls = 0
        self._known: int | None = None
        self._recount_at = 0.0
        self._rechecks_left = 0
        self._changed = threading.Event()

    def run_ended(self) -> None:
        self._changed.set()

    def started(self) -> None:
        if self._known is not None:
            self._known += 1

    def current(self, limit: int) -> int:
        now = time.monotonic()
        recount = self._known is None or now >= self._recount_at
        if self._changed.is_set():
            self._changed.clear()
            recount, self._rechecks_left = True, self.rechecks
        if recount:
            before = self._known
            self.list_calls += 1
            self._known = count_running(self.settings, limit)
            if self._rechecks_left and before is not None and self._known >= before:
                self._rechecks_left -= 1
                self._recount_at = now + self.recheck_seconds
            else:
                self._rechecks_left = 0
                self._recount_at = now + self.refresh_seconds
        return self._known if self._known is not None else limit

    def wait_for_room(self, stopping: threading.Event) -> None:
        """Block until the count may have dropped (an end, or the next recount) or stopping."""
        deadline = self._recount_at
        while not stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._changed.wait(min(left, 0.5)):
                return


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
