"""What the Pulumi program (run under the tests/pulumi mocks) grants each component."""

from __future__ import annotations

from tests.iam.actions import StackResources
from tests.pulumi.harness import ACCOUNT, REGION, Stack, run_program

# The stack the parity test checks: the documented defaults, served over plain HTTP because the
# mocks have no certificate (HTTPS changes no IAM policy).
PARITY_CONFIG = {"allowHttp": "true"}
QUEUE_OUTPUTS = {
    "jobs": "jobsQueueUrl",
    "status": "statusQueueUrl",
    "dlq": "dlqUrl",
    "replies": "repliesQueueUrl",
}
# Which task definition runs which component: by its container's command.
TASK_COMMANDS = {
    "api": ("vidpipe", "api"),
    "poller": ("vidpipe", "poller"),
    "job": ("jobs.transcode",),
}


def build() -> Stack:
    return run_program(PARITY_CONFIG)


def resources(stack: Stack) -> StackResources:
    queue_by_url = {
        q.outputs["url"]: q.outputs["arn"] for q in stack.of_type("aws:sqs/queue:Queue")
    }
    queues = {
        role: queue_by_url[stack.outputs[key]]
        for role, key in QUEUE_OUTPUTS.items()
        if key in stack.outputs
    }
    buses = stack.of_type("aws:cloudwatch/eventBus:EventBus")
    task_definitions = {
        td.outputs["arnWithoutRevision"]: (
            td.outputs["arn"],
            td.inputs["taskRoleArn"],
            td.inputs["executionRoleArn"],
        )
        for td in stack.of_type("aws:ecs/taskDefinition:TaskDefinition")
    }
    return StackResources(
        region=REGION,
        account=ACCOUNT,
        bucket=stack.outputs["bucket"],
        queues=queues,
        queue_urls=queue_by_url,
        state_machine=stack.outputs["stateMachineArn"],
        event_bus=buses[0].outputs["arn"] if buses else None,
        task_definitions=task_definitions,
    )


def state_machine(stack: Stack):
    (machine,) = stack.of_type("aws:sfn/stateMachine:StateMachine")
    return machine


def _task_role(stack: Stack, component: str) -> str:
    words = TASK_COMMANDS[component]
    found = []
    for td in stack.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        (container,) = td.json("containerDefinitions")
        command = container["command"]
        if all(w in command for w in words):
            found.append(td.inputs["taskRoleArn"])
    assert len(found) == 1, f"expected one task definition running {words}, found {found}"
    return found[0]


def _managed_policy(stack: Stack, arn: str) -> dict:
    (policy,) = [p for p in stack.of_type("aws:iam/policy:Policy") if p.outputs["arn"] == arn]
    return policy.json("policy")


def role_policies(stack: Stack, role_arn: str) -> list[dict]:
    """Inline and attached managed policies of the role with that ARN."""
    (role,) = [r for r in stack.of_type("aws:iam/role:Role") if r.outputs["arn"] == role_arn]
    ids = {f"{role.name}-id", role.outputs.get("name", role.name)}
    documents = [
        p.json("policy")
        for p in stack.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] in ids
    ]
    for attachment in stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        if attachment.inputs["role"] in ids:
            documents.append(_managed_policy(stack, attachment.inputs["policyArn"]))
    return documents


def policies(stack: Stack, component: str) -> list[dict]:
    """The identity policies that authorise the component's calls in AWS."""
    if component == "states":
        return role_policies(stack, state_machine(stack).inputs["roleArn"])
    if component == "cli":
        # Operators run the CLI with their own identity and attach the `operators` policy.
        arn = stack.outputs.get("operatorsPolicyArn")
        return [_managed_policy(stack, arn)] if arn else []
    return role_policies(stack, _task_role(stack, component))
