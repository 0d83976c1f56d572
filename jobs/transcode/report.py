"""Step Functions callbacks: SendTaskSuccess / SendTaskFailure, and a heartbeat thread."""

from __future__ import annotations

import json
import logging

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from vidpipe.aws import TASK_TOKEN_GONE_CODES, error_code

from .errors import TranscodeError
from .periodic import Periodic
from .runner import Cancellation

log = logging.getLogger(__name__)

MAX_ERROR, MAX_CAUSE = 256, 32768  # Step Functions limits


class TaskAbandoned(TranscodeError):
    """The state machine gave up on this task (heartbeat timeout, execution stopped)."""


class ReportError(Exception):
    """Reporting itself failed: the only case where the job exits non-zero."""


class Reporter:
    def __init__(self, task_token: str, client=None) -> None:
        self.token = task_token
        # Plain client (AWS_ENDPOINT_URL is honoured by boto3); botocore retries throttling/5xx.
        self.client = client or boto3.client("stepfunctions")

    def success(self, result: dict) -> None:
        self._call(
            "SendTaskSuccess",
            self.client.send_task_success,
            taskToken=self.token,
            output=json.dumps(result),
        )
        log.info("reported success: %s", json.dumps(result))

    def failure(self, error: str, cause: str) -> None:
        self._call(
            "SendTaskFailure",
            self.client.send_task_failure,
            taskToken=self.token,
            error=error[:MAX_ERROR],
            cause=cause[:MAX_CAUSE],
        )
        log.info("reported failure %s: %s", error, cause)

    def heartbeat(self) -> None:
        self.client.send_task_heartbeat(taskToken=self.token)

    @staticmethod
    def _call(name: str, fn, **kwargs) -> None:
        try:
            fn(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise ReportError(f"{name} failed: {error_code(exc) or exc}") from exc


class Heartbeat(Periodic):
    """Sends SendTaskHeartbeat every `period` seconds while the job works (download, ffmpeg,
    upload). If Step Functions answers that the task is gone, it cancels the job so that a dead
    attempt does not keep burning CPU (and cannot complete a later attempt that reuses the token,
    as moto does)."""

    def __init__(self, reporter: Reporter, period: float, cancellation: Cancellation) -> None:
        super().__init__(period, "heartbeat")
        self.reporter = reporter
        self.cancellation = cancellation
        self.sent = 0

    def tick(self) -> bool:
        try:
            self.reporter.heartbeat()
            self.sent += 1
            log.debug("heartbeat %d sent", self.sent)
        except ClientError as exc:
            code = error_code(exc)
            if code in TASK_TOKEN_GONE_CODES:
                log.error("heartbeat rejected (%s): the state gave up on this task", code)
                self.cancellation.cancel(
                    TaskAbandoned(f"the state machine no longer waits for this task ({code})")
                )
                return False  # no more heartbeats
            log.warning("heartbeat failed (%s); will retry", code)
        except BotoCoreError as exc:  # network: try again next period
            log.warning("heartbeat failed (%s); will retry", exc)
        return True
