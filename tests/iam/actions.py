"""Recorded AWS calls and state machine integrations -> IAM requests on the deployed stack's ARNs.

The recorded calls name the local cloud's resources (moto's queue URLs, bucket, state machine).
`StackResources` maps each one, by its role (jobs queue, status queue, DLQ, replies queue, media
bucket, pipeline), onto the ARN the Pulumi program gives that role, so the requests can be
checked against the policies the program writes. A call or resource with no mapping raises
`Unmapped`: a new kind of call must be mapped here before the parity test can pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.iam.policy import Request

# The local cloud's resource names (localcloud/stack.py) -> their role in the stack.
# The plain names are the in-process moto resources of tests/api and tests/console.
LOCAL_QUEUES = {
    "vidpipe-jobs": "jobs",
    "vidpipe-status": "status",
    "vidpipe-dlq": "dlq",
    "vidpipe-replies": "replies",
    "jobs": "jobs",
    "status": "status",
    "dlq": "dlq",
}
LOCAL_BUCKETS = {"vidpipe-media": "bucket", "test-media": "bucket"}
LOCAL_STATE_MACHINES = {"vidpipe-pipeline": "pipeline", "pipeline": "pipeline"}
# Presigned URLs that are built but never fetched, so they need no permission: api/main.py signs
# this key only to learn the media origin for the Content-Security-Policy.
PRESIGNED_NOT_FETCHED = {"csp-origin-probe"}
# Components whose code tells a missing object (404) from a refused one (403): S3 answers 404
# only to callers that may also list the bucket at that key, so their reads need s3:ListBucket.
NOT_FOUND_AWARE = {"job"}


class Unmapped(LookupError):
    """A call or resource the parity test does not know how to check."""


@dataclass
class StackResources:
    """ARNs of the stack under test, by role."""

    region: str
    account: str
    bucket: str
    queues: dict[str, str]  # role -> queue ARN
    queue_urls: dict[str, str]  # the stack's own queue URL -> ARN
    state_machine: str
    event_bus: str | None
    # family ARN (no revision) -> (task definition ARN, task role ARN, execution role ARN)
    task_definitions: dict[str, tuple[str, str, str]]

    # --- local -> stack ----------------------------------------------------------------------

    def bucket_arn(self, name: str) -> str:
        if name not in LOCAL_BUCKETS:
            raise Unmapped(f"bucket {name!r}: add it to LOCAL_BUCKETS")
        return f"arn:aws:s3:::{self.bucket}"

    def queue_arn(self, url_or_name: str) -> str:
        if url_or_name in self.queue_urls:  # already the stack's (the rendered state machine)
            return self.queue_urls[url_or_name]
        name = url_or_name.rstrip("/").rsplit("/", 1)[-1]
        role = LOCAL_QUEUES.get(name)
        if role is None:
            raise Unmapped(f"queue {name!r}: add it to LOCAL_QUEUES")
        if role not in self.queues:
            raise Unmapped(f"the stack has no {role} queue (needed for {name!r})")
        return self.queues[role]

    def state_machine_arn(self, arn: str) -> str:
        name = arn.split(":stateMachine:", 1)[-1]
        if arn == self.state_machine or LOCAL_STATE_MACHINES.get(name) == "pipeline":
            return self.state_machine
        raise Unmapped(f"state machine {arn!r}: add it to LOCAL_STATE_MACHINES")

    def execution_arn(self, arn: str) -> str:
        head, _, rest = arn.partition(":execution:")
        machine, _, execution = rest.partition(":")
        self.state_machine_arn(f"{head}:stateMachine:{machine}")
        return self.state_machine.replace(":stateMachine:", ":execution:", 1) + f":{execution}"

    def event_bus_arn(self, name_or_arn: str | None) -> str:
        name = (name_or_arn or "default").rsplit("/", 1)[-1]
        if name == "default":
            return f"arn:aws:events:{self.region}:{self.account}:event-bus/default"
        if self.event_bus is None:
            raise Unmapped(f"event bus {name!r}: the stack has no event bus")
        if name.startswith("vidpipe"):
            return self.event_bus
        raise Unmapped(f"event bus {name!r} is not the stack's")


# --- recorded boto3 calls --------------------------------------------------------------------

_S3_OBJECT = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
}
_SQS = {
    "SendMessage": "sqs:SendMessage",
    "SendMessageBatch": "sqs:SendMessage",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessage": "sqs:DeleteMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "GetQueueUrl": "sqs:GetQueueUrl",
    "PurgeQueue": "sqs:PurgeQueue",
}
_SFN_MACHINE = {"StartExecution", "ListExecutions", "DescribeStateMachine"}
_SFN_EXECUTION = {
    "DescribeExecution",
    "GetExecutionHistory",
    "StopExecution",
    "DescribeStateMachineForExecution",
    "RedriveExecution",
}
# Task tokens are opaque; every token this stack hands out belongs to its one state machine.
_SFN_TOKEN = {"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"}
# Calls that need no permission.
_FREE = {("sts", "GetCallerIdentity")}


def requests_for_call(call: dict, stack: StackResources) -> list[Request]:
    service, operation, params = call["service"], call["operation"], call["params"]
    why = f"{service}.{operation}" + (" (presigned URL)" if call.get("presigned") else "")
    if (service, operation) in _FREE:
        return []
    if service == "s3":
        if call.get("presigned") and params.get("Key") in PRESIGNED_NOT_FETCHED:
            return []
        bucket = stack.bucket_arn(params["Bucket"])
        if operation in _S3_OBJECT:
            key = params["Key"]
            out = [Request(_S3_OBJECT[operation], f"{bucket}/{key}", why=why)]
            if call["component"] in NOT_FOUND_AWARE and _S3_OBJECT[operation] == "s3:GetObject":
                out.append(
                    Request(
                        "s3:ListBucket",
                        bucket,
                        {"s3:prefix": key},
                        why=f"{why}: a missing key must answer 404, not 403",
                    )
                )
            return out
        if operation == "DeleteObjects":
            keys = [o["Key"] for o in params["Delete"]["Objects"]]
            return [Request("s3:DeleteObject", f"{bucket}/{k}", why=why) for k in keys]
        if operation in ("ListObjectsV2", "ListObjects"):
            return [Request("s3:ListBucket", bucket, {"s3:prefix": params.get("Prefix", "")}, why)]
        if operation == "HeadBucket":
            return [Request("s3:ListBucket", bucket, why=why)]
    if service == "sqs" and operation in _SQS:
        queue = stack.queue_arn(params.get("QueueUrl") or params["QueueName"])
        return [Request(_SQS[operation], queue, why=why)]
    if service == "stepfunctions":
        action = f"states:{operation}"
        if operation in _SFN_MACHINE:
            return [Request(action, stack.state_machine_arn(params["stateMachineArn"]), why=why)]
        if operation in _SFN_EXECUTION:
            return [Request(action, stack.execution_arn(params["executionArn"]), why=why)]
        if operation in _SFN_TOKEN:
            return [Request(action, stack.state_machine, why=why)]
    if service == "events" and operation == "PutEvents":
        buses = {e.get("EventBusName") for e in params["Entries"]}
        return [Request("events:PutEvents", stack.event_bus_arn(b), why=why) for b in buses]
    raise Unmapped(f"{service}.{operation}: map it to its IAM action in tests/iam/actions.py")


# --- the state machine's own calls, from its definition ---------------------------------------


def task_states(definition: dict) -> Iterator[tuple[str, dict]]:
    """Every Task state, including those inside Parallel branches and Map processors."""
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from task_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from task_states(state[key])


def _static(parameters: dict, key: str) -> Any:
    if f"{key}.$" in parameters:
        raise Unmapped(f"{key} is computed at run time; the parity test needs a static value")
    return parameters[key]


def requests_for_state(name: str, state: dict, stack: StackResources) -> list[Request]:
    """IAM requests Step Functions makes with the state machine's role to run this Task."""
    resource = state["Resource"]
    prefix = "arn:aws:states:::"
    if not resource.startswith(prefix):
        raise Unmapped(f"{name}: {resource} is not a service integration")
    integration = resource[len(prefix) :].split(".", 1)[0]  # e.g. ecs:runTask
    parameters = state.get("Parameters") or state.get("Arguments") or {}
    why = f"state {name} ({resource})"
    if integration == "sqs:sendMessage":
        queue = stack.queue_arn(_static(parameters, "QueueUrl"))
        return [Request("sqs:SendMessage", queue, why=why)]
    if integration == "ecs:runTask":
        family = _static(parameters, "TaskDefinition")
        if family not in stack.task_definitions:
            raise Unmapped(f"{name}: task definition {family} is not the stack's")
        task_definition, task_role, execution_role = stack.task_definitions[family]
        cluster = _static(parameters, "Cluster")
        passed = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        return [
            Request("ecs:RunTask", task_definition, {"ecs:cluster": cluster}, why=why),
            Request("iam:PassRole", task_role, passed, why=f"{why}: the task role"),
            Request("iam:PassRole", execution_role, passed, why=f"{why}: the execution role"),
        ]
    if integration == "events:putEvents":
        entries = _static(parameters, "Entries")
        buses = {_static(entry, "EventBusName") for entry in entries}
        return [Request("events:PutEvents", stack.event_bus_arn(b), why=why) for b in buses]
    raise Unmapped(f"{name}: map the {integration} integration in tests/iam/actions.py")


def requests_for_configuration(machine_inputs: dict) -> list[Request]:
    """Permissions the state machine's logging and tracing settings need (no resource-level
    permissions exist for these: AWS documents them on "*")."""
    out = []
    logging = machine_inputs.get("loggingConfiguration") or {}
    if logging.get("level", "OFF") != "OFF":
        for action in (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ):
            out.append(Request(action, "*", why="logging configuration"))
    if (machine_inputs.get("tracingConfiguration") or {}).get("enabled"):
        for action in (
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
        ):
            out.append(Request(action, "*", why="X-Ray tracing"))
    return out
