"""The state machine: the repository's ASL file with every placeholder substituted, CloudWatch
logging (ERROR without execution data unless raised), X-Ray, and a role limited to the transcode
task, its two roles, the status queue + DLQ and the stack's event bus."""

from __future__ import annotations

import json

import pytest

import statemachines

from .harness import Stack

SFN = "aws:sfn/stateMachine:StateMachine"


def _expected_values(stack: Stack, public: bool) -> dict:
    """Placeholder values computed from the recorded resources, independently of the program."""
    cluster = stack.one("aws:ecs/cluster:Cluster", "vidpipe-cluster")
    transcode = stack.one("aws:ecs/taskDefinition:TaskDefinition", "vidpipe-transcode")
    tier = "public" if public else "private"
    return {
        "ClusterArn": cluster.outputs["arn"],
        "TranscodeTaskDefinitionArn": transcode.outputs["arnWithoutRevision"],
        "TranscodeContainerName": "transcode",
        "SubnetIds": [f"vidpipe-{tier}-0-id", f"vidpipe-{tier}-1-id"],
        "SecurityGroupIds": ["vidpipe-transcode-sg-id"],
        "AssignPublicIp": "ENABLED" if public else "DISABLED",
        "StatusQueueUrl": stack.one("aws:sqs/queue:Queue", "vidpipe-status").outputs["url"],
        "DlqUrl": stack.one("aws:sqs/queue:Queue", "vidpipe-dlq").outputs["url"],
        # Used when the file names them (completion events).
        "EventBusName": stack.one("aws:cloudwatch/eventBus:EventBus", "vidpipe-bus").inputs["name"],
        "ApiBaseUrl": "https://videos.example.com" if public else stack.outputs["albUrl"],
    }


@pytest.mark.parametrize("public", [False, True])
def test_definition_is_the_file_with_every_placeholder_substituted(stack, tuned_stack, public):
    current = tuned_stack if public else stack
    (machine,) = current.of_type(SFN)
    expected = statemachines.render_definition(_expected_values(current, public))
    assert json.loads(machine.inputs["definition"]) == json.loads(expected)
    assert "${" not in machine.inputs["definition"]


def test_logging_errors_without_execution_data_unless_raised_and_xray(stack, tuned_stack):
    (machine,) = stack.of_type(SFN)
    group = stack.one("aws:cloudwatch/logGroup:LogGroup", "vidpipe-states")
    # Task tokens and payloads stay out of CloudWatch by default.
    assert machine.inputs["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": False,
        "logDestination": group.outputs["arn"] + ":*",
    }
    (debugging,) = tuned_stack.of_type(SFN)
    assert debugging.inputs["loggingConfiguration"]["level"] == "ALL"
    assert debugging.inputs["loggingConfiguration"]["includeExecutionData"] is True
    assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    assert machine.inputs["type"] == "STANDARD"
    assert (
        machine.inputs["roleArn"] == stack.one("aws:iam/role:Role", "vidpipe-states").outputs["arn"]
    )


def _statements_with(policy: dict, action: str) -> list[dict]:
    return [s for s in policy["Statement"] if action in s["Action"]]


def test_state_machine_role_runs_only_the_transcode_task_definition(stack):
    policy = stack.role_policy("vidpipe-states")
    family = stack.one("aws:ecs/taskDefinition:TaskDefinition", "vidpipe-transcode").outputs[
        "arnWithoutRevision"
    ]
    cluster = stack.one("aws:ecs/cluster:Cluster", "vidpipe-cluster").outputs["arn"]
    (run,) = _statements_with(policy, "ecs:RunTask")
    assert run["Action"] == ["ecs:RunTask"]
    assert sorted(run["Resource"]) == sorted([family, f"{family}:*"])
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": cluster}}
    (manage,) = _statements_with(policy, "ecs:StopTask")
    assert sorted(manage["Action"]) == ["ecs:DescribeTasks", "ecs:StopTask"]
    assert manage["Resource"] == [cluster.replace(":cluster/", ":task/") + "/*"]
    # waitForTaskToken, not .sync: no EventBridge managed-rule permissions; only PutEvents on
    # the stack's own bus (completion events).
    events = {
        (a, r)
        for s in policy["Statement"]
        for a in s["Action"]
        if a.startswith("events:")
        for r in s["Resource"]
    }
    (bus,) = stack.of_type("aws:cloudwatch/eventBus:EventBus")
    assert events == {("events:PutEvents", bus.outputs["arn"])}


def test_state_machine_role_passes_only_the_two_transcode_roles(stack):
    policy = stack.role_policy("vidpipe-states")
    (passing,) = _statements_with(policy, "iam:PassRole")
    assert sorted(passing["Resource"]) == sorted(
        stack.one("aws:iam/role:Role", name).outputs["arn"]
        for name in ("vidpipe-transcode-task", "vidpipe-transcode-exec")
    )
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    transcode = stack.one("aws:ecs/taskDefinition:TaskDefinition", "vidpipe-transcode").inputs
    assert {transcode["taskRoleArn"], transcode["executionRoleArn"]} == set(passing["Resource"])


def test_state_machine_role_sends_only_to_the_status_queue_and_the_dlq(stack):
    policy = stack.role_policy("vidpipe-states")
    (send,) = _statements_with(policy, "sqs:SendMessage")
    assert send["Action"] == ["sqs:SendMessage"]
    assert sorted(send["Resource"]) == sorted(
        stack.one("aws:sqs/queue:Queue", name).outputs["arn"]
        for name in ("vidpipe-status", "vidpipe-dlq")
    )
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert not {a for a in actions if a.startswith("sqs:")} - {"sqs:SendMessage"}


def test_state_machine_waits_for_its_role_policy(stack):
    # Step Functions validates the logging/X-Ray permissions at creation: the policy must exist
    # first. The mock records resources in registration order.
    names = [r.name for r in stack.resources]
    assert names.index("vidpipe-states-policy") < names.index("vidpipe-pipeline")
