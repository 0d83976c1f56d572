"""localcloud.ecs_shim works around moto bugs. When moto fixes them, these tests fail: remove the
shim (and this test) then."""

from __future__ import annotations

import json
import time

import pytest

from localcloud import ecs_shim

# Boots a local cloud, ffmpeg or servers: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow

REMOVE = "moto fixed it: remove localcloud/ecs_shim.py (and this test)"


def _definition(p) -> dict:
    return {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
                "Parameters": {
                    "Cluster": p.stack.cluster_arn,
                    "TaskDefinition": p.stack.task_definition_arn,
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": {
                        "AwsvpcConfiguration": {
                            "Subnets": [p.stack.network["subnet_ids"][0]],
                            "SecurityGroups": p.stack.network["security_group_ids"],
                        }
                    },
                    "Overrides": {
                        "ContainerOverrides": [
                            {
                                "Name": "transcode",
                                "Environment": [
                                    {"Name": "VIDPIPE_TASK_TOKEN", "Value.$": "$$.Task.Token"}
                                ],
                            }
                        ]
                    },
                },
                "HeartbeatSeconds": 30,
                "End": True,
            }
        },
    }


def _run(p, name: str) -> tuple[str, list[dict]]:
    arn = p.sfn.create_state_machine(
        name=name, definition=json.dumps(_definition(p)), roleArn="arn:aws:iam::123456789012:role/x"
    )["stateMachineArn"]
    execution = p.sfn.start_execution(stateMachineArn=arn, name="one", input="{}")["executionArn"]
    end = time.monotonic() + 10
    while time.monotonic() < end:
        events = p.sfn.get_execution_history(executionArn=execution)["events"]
        if any(e["type"] in ("TaskFailed", "TaskSubmitted") for e in events):
            return execution, events
        time.sleep(0.1)
    raise AssertionError("the ecs:runTask state neither failed nor submitted")


def test_moto_still_needs_the_ecs_shim(pipeline_factory):
    p = pipeline_factory("ok", with_workers=False)
    ecs_shim.uninstall()
    try:
        _, events = _run(p, "unshimmed")
        failed = [e for e in events if e["type"] == "TaskFailed"]
        assert failed, REMOVE
        details = failed[0]["taskFailedEventDetails"]
        assert (details["error"], details["cause"]) == ("States.Runtime", "'Cluster'"), REMOVE
    finally:
        ecs_shim.install()
    _, events = _run(p, "shimmed")
    assert not [e for e in events if e["type"] == "TaskFailed"], events
    submitted = next(e for e in events if e["type"] == "TaskSubmitted")
    assert p.stack.cluster_arn in submitted["taskSubmittedEventDetails"]["output"]


def _scratch_queue(p) -> str:
    """A queue of the test's own for the task tokens (the stack's DLQ is mirrored and restored by
    the local cloud, so a test must not use it as scratch space)."""
    return p.sqs.create_queue(QueueName="shim-test-tokens")["QueueUrl"]


def _wait_definition(p, **state) -> dict:
    """One Task state waiting on sqs:sendMessage.waitForTaskToken (unaffected by the ECS bug),
    with `state`'s extra fields (e.g. a Retry)."""
    return {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": _scratch_queue(p),
                    "MessageBody": {"token.$": "$$.Task.Token"},
                },
                **state,
                "End": True,
            }
        },
    }


def _start(p, name: str, definition: dict) -> str:
    arn = p.sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
    )["stateMachineArn"]
    return p.sfn.start_execution(stateMachineArn=arn, name="one", input="{}")["executionArn"]


def _next_token(p) -> str:
    """The task token of the next waiting state (its message, taken off the scratch queue)."""
    message = p.sqs.receive_message(QueueUrl=_scratch_queue(p), WaitTimeSeconds=5)["Messages"][0]
    p.sqs.delete_message(QueueUrl=_scratch_queue(p), ReceiptHandle=message["ReceiptHandle"])
    return json.loads(message["Body"])["token"]


def _token_wait(p, name: str) -> tuple[str, str]:
    """An execution waiting on its task token, and the token."""
    execution = _start(p, name, _wait_definition(p))
    return execution, _next_token(p)


def test_moto_still_drops_the_cause_of_send_task_failure(pipeline_factory):
    p = pipeline_factory("ok", with_workers=False)
    causes = {}
    try:
        for shimmed in (False, True):
            (ecs_shim.install if shimmed else ecs_shim.uninstall)()
            execution, token = _token_wait(p, f"cause-{shimmed}")
            p.sfn.send_task_failure(taskToken=token, error="Transcode.InvalidInput", cause="why")
            end = time.monotonic() + 5
            while True:
                events = p.sfn.get_execution_history(executionArn=execution)["events"]
                failed = [e for e in events if e["type"] == "TaskFailed"]
                if failed:
                    break
                assert time.monotonic() < end, "SendTaskFailure did not fail the state"
                time.sleep(0.1)
            causes[shimmed] = failed[0]["taskFailedEventDetails"].get("cause")
    finally:
        ecs_shim.install()
    assert not causes[False], REMOVE
    assert causes[True] == "why"


def test_moto_still_has_no_ecs_error_names():
    """The shim names ECS failures as AWS does (AmazonECS.Unknown, ECS.<code>); moto's ECS
    integration inherits the generic States.Runtime mapping."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (  # noqa: E501
        StateTaskServiceEcs,
    )

    ecs_shim.uninstall()
    try:
        assert "_from_error" not in StateTaskServiceEcs.__dict__, (
            "moto's ECS integration maps its own errors now: check whether ecs_shim._from_error "
            "is still needed (tests/pipeline/test_ecs_retry.py)"
        )
    finally:
        ecs_shim.install()


def test_moto_still_reuses_the_task_token_across_retries(pipeline_factory):
    p = pipeline_factory("ok", with_workers=False)
    definition = _wait_definition(
        p, Retry=[{"ErrorEquals": ["Again"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    )
    tokens = {}
    try:
        for shimmed in (False, True):
            (ecs_shim.install if shimmed else ecs_shim.uninstall)()
            _start(p, f"retry-{shimmed}", definition)
            first = _next_token(p)
            p.sfn.send_task_failure(taskToken=first, error="Again", cause="retry me")
            tokens[shimmed] = (first, _next_token(p))
    finally:
        ecs_shim.install()
    assert tokens[False][0] == tokens[False][1], REMOVE
    assert tokens[True][0] != tokens[True][1]
