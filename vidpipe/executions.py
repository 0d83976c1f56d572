"""Step Functions executions of the video pipeline, addressed by their deterministic names."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from vidpipe import aws
from vidpipe.settings import Settings

log = logging.getLogger(__name__)


def execution_arn(name: str, settings: Settings) -> str:
    """arn:aws:states:R:A:stateMachine:M -> arn:aws:states:R:A:execution:M:<name>."""
    return settings.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def stop(name: str, settings: Settings, cause: str) -> bool:
    """Stop the named execution if it is running. True when a running execution was stopped."""
    if not settings.state_machine_arn:
        return False
    try:
        aws.client("stepfunctions").stop_execution(
            executionArn=execution_arn(name, settings), error="Video.Deleted", cause=cause
        )
    except ClientError as exc:
        if aws.is_not_found(exc):
            return False
        log.warning("could not stop execution %s: %s", name, exc)
        return False
    except BotoCoreError as exc:
        log.warning("could not stop execution %s: %s", name, exc)
        return False
    return True
