"""Console tests: the API app of tests/api (SQLite and PostgreSQL, moto in-process) plus a state
machine that moto executes, the status queue and the DLQ."""

from __future__ import annotations

import json
import time

import pytest
from moto.core.config import default_user_config
from sqlalchemy import update

from tests.api import conftest as api_fixtures
from vidpipe import aws
from vidpipe.db.models import User

# The API app of tests/api, shared rather than copied (the browser harness of tests/web is a
# plugin of the root conftest: one browser per session).
database_url = api_fixtures.database_url
aws_env = api_fixtures.aws_env
settings = api_fixtures.settings
app = api_fixtures.app
client = api_fixtures.client
db = api_fixtures.db
mp4_bytes = api_fixtures.mp4_bytes
make_player = api_fixtures.make_player
upload = api_fixtures.upload

ROLE = "arn:aws:iam::123456789012:role/vidpipe-test"
# Small but shaped like the pipeline: a choice, a Succeed end and a Fail end.
DEFINITION = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Processed"}],
            "Default": "VideoFailed",
        },
        "Processed": {"Type": "Succeed"},
        "VideoFailed": {"Type": "Fail", "Error": "Video.ProcessingFailed", "Cause": "bad input"},
    },
}


@pytest.fixture
def console_settings(settings, aws_env):
    """`settings` with the status queue, the DLQ and a state machine moto executes."""
    previous = default_user_config.get("stepfunctions")
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    sqs = aws.client("sqs")
    settings.status_queue_url = sqs.create_queue(QueueName="status")["QueueUrl"]
    settings.dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    settings.state_machine_arn = aws.client("stepfunctions").create_state_machine(
        name="pipeline", definition=json.dumps(DEFINITION), roleArn=ROLE
    )["stateMachineArn"]
    yield settings
    if previous is None:
        default_user_config.pop("stepfunctions", None)
    else:
        default_user_config["stepfunctions"] = previous


@pytest.fixture
def operator(make_player, db):
    player = make_player(first="Olga", last="Operator")
    db.execute(update(User).where(User.email == player.email).values(is_operator=True))
    db.commit()
    return player


def run_execution(settings, name: str, ok: bool, timeout: float = 20) -> dict:
    """Start an execution and wait (bounded) until moto has finished it."""
    sfn = aws.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=settings.state_machine_arn, name=name, input=json.dumps({"ok": ok})
    )["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"execution {name} still running"
        time.sleep(0.05)
