"""IAM least privilege: every role's inline policy, action by action and resource by resource."""

from __future__ import annotations

from .harness import ACCOUNT, Stack

# The only actions allowed on "Resource": "*", each because AWS offers no resource-level
# permission for it (Service Authorization Reference: empty "Resource types" column).
AWS_REQUIRES_STAR = {
    "ecr:GetAuthorizationToken": "registry login token, not tied to a repository",
    "logs:CreateLogDelivery": "vended-log delivery for Step Functions logging",
    "logs:GetLogDelivery": "vended-log delivery for Step Functions logging",
    "logs:UpdateLogDelivery": "vended-log delivery for Step Functions logging",
    "logs:DeleteLogDelivery": "vended-log delivery for Step Functions logging",
    "logs:ListLogDeliveries": "vended-log delivery for Step Functions logging",
    "logs:PutResourcePolicy": "vended-log delivery for Step Functions logging",
    "logs:DescribeResourcePolicies": "vended-log delivery for Step Functions logging",
    "logs:DescribeLogGroups": "vended-log delivery for Step Functions logging",
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
}
ROLES = (
    "vidpipe-api-task",
    "vidpipe-poller-task",
    "vidpipe-transcode-task",
    "vidpipe-api-exec",
    "vidpipe-poller-exec",
    "vidpipe-transcode-exec",
    "vidpipe-states",
)
BUCKET = "arn:aws:s3:::vidpipe-media"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def grants(policy: dict) -> set[tuple[str, str]]:
    """Every (action, resource) pair the policy allows."""
    out = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                out.add((action, resource))
    return out


def arn(stack: Stack, typ: str, name: str) -> str:
    return stack.one(typ, name).outputs["arn"]


def queue(stack: Stack, name: str) -> str:
    return arn(stack, "aws:sqs/queue:Queue", f"vidpipe-{name}")


def state_machine(stack: Stack) -> str:
    (machine,) = stack.of_type("aws:sfn/stateMachine:StateMachine")
    return machine.outputs["arn"]


def executions(stack: Stack) -> str:
    return state_machine(stack).replace(":stateMachine:", ":execution:") + ":*"


def test_every_role_has_exactly_one_inline_policy_and_no_managed_policies(stack, tuned_stack):
    roles = stack.of_type("aws:iam/role:Role")
    assert sorted(r.name for r in roles) == sorted(ROLES)
    # The webhook's delivery role exists only when a webhook is configured.
    assert sorted(r.name for r in tuned_stack.of_type("aws:iam/role:Role")) == sorted(
        [*ROLES, "vidpipe-webhook"]
    )
    for role in roles:
        assert not role.inputs.get("managedPolicyArns"), role.name
        assert len(stack.role_policies(role.name)) == 1, role.name
    assert stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []


def test_no_wildcard_actions_anywhere(stack):
    documents = stack.of_type("aws:iam/rolePolicy:RolePolicy") + stack.of_type(
        "aws:iam/policy:Policy"
    )
    for policy in documents:
        for action, _ in grants(policy.json("policy")):
            assert "*" not in action, (policy.name, action)


def test_star_resources_only_where_aws_requires_it(stack):
    for policy in stack.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in policy.json("policy")["Statement"]:
            if "*" in _as_list(statement["Resource"]):
                assert statement["Resource"] == "*", "never mix * with named resources"
                for action in _as_list(statement["Action"]):
                    assert action in AWS_REQUIRES_STAR, (policy.name, action)
            for resource in _as_list(statement["Resource"]):
                # No service-wide patterns such as arn:aws:sqs:*:*:* either.
                assert resource == "*" or ":*:" not in resource, (policy.name, resource)


def test_trust_policies_name_the_service_and_this_account(stack):
    for role in stack.of_type("aws:iam/role:Role"):
        (statement,) = role.json("assumeRolePolicy")["Statement"]
        service = (
            "states.amazonaws.com" if role.name == "vidpipe-states" else "ecs-tasks.amazonaws.com"
        )
        assert statement["Principal"] == {"Service": service}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def test_api_task_policy(stack):
    policy = stack.role_policy("vidpipe-api-task")
    assert grants(policy) == {
        ("s3:PutObject", f"{BUCKET}/uploads/*"),
        ("s3:GetObject", f"{BUCKET}/uploads/*"),
        ("s3:DeleteObject", f"{BUCKET}/uploads/*"),
        ("s3:AbortMultipartUpload", f"{BUCKET}/uploads/*"),
        ("s3:GetObject", f"{BUCKET}/processed/*"),
        ("s3:DeleteObject", f"{BUCKET}/processed/*"),
        ("s3:ListBucket", BUCKET),
        ("sqs:SendMessage", queue(stack, "jobs")),
        ("sqs:GetQueueAttributes", queue(stack, "jobs")),
        # The operators' console: queue depths, the DLQ, the list of runs.
        ("sqs:GetQueueAttributes", queue(stack, "status")),
        ("sqs:GetQueueAttributes", queue(stack, "dlq")),
        ("sqs:ReceiveMessage", queue(stack, "dlq")),
        ("sqs:ChangeMessageVisibility", queue(stack, "dlq")),
        ("sqs:DeleteMessage", queue(stack, "dlq")),
        ("states:ListExecutions", state_machine(stack)),
        ("states:DescribeExecution", executions(stack)),
        ("states:DescribeStateMachineForExecution", executions(stack)),
        ("states:GetExecutionHistory", executions(stack)),
        ("states:StopExecution", executions(stack)),
    }
    (listing,) = [s for s in policy["Statement"] if "s3:ListBucket" in s["Action"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["processed/*"]}}


def test_poller_task_policy(stack):
    consume = {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }
    expected = {(a, queue(stack, "jobs")) for a in consume | {"sqs:SendMessage"}}
    expected |= {(a, queue(stack, "status")) for a in consume}
    expected |= {
        ("sqs:SendMessage", queue(stack, "dlq")),
        ("sqs:SendMessage", queue(stack, "replies")),
    }
    expected |= {
        (a, state_machine(stack)) for a in ("states:StartExecution", "states:ListExecutions")
    }
    expected |= {
        (a, executions(stack)) for a in ("states:DescribeExecution", "states:StopExecution")
    }
    expected |= {
        (a, state_machine(stack)) for a in ("states:SendTaskSuccess", "states:SendTaskFailure")
    }
    expected |= {("s3:DeleteObject", f"{BUCKET}/processed/*"), ("s3:ListBucket", BUCKET)}
    policy = stack.role_policy("vidpipe-poller-task")
    assert grants(policy) == expected
    (listing,) = [s for s in policy["Statement"] if "s3:ListBucket" in s["Action"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["processed/*"]}}


def test_transcode_task_policy(stack):
    assert grants(stack.role_policy("vidpipe-transcode-task")) == {
        ("s3:GetObject", f"{BUCKET}/uploads/*"),
        ("s3:ListBucket", BUCKET),
        ("s3:PutObject", f"{BUCKET}/processed/*"),
        ("s3:AbortMultipartUpload", f"{BUCKET}/processed/*"),
        ("sqs:SendMessage", queue(stack, "status")),
        ("states:SendTaskSuccess", state_machine(stack)),
        ("states:SendTaskFailure", state_machine(stack)),
        ("states:SendTaskHeartbeat", state_machine(stack)),
    }


def test_transcode_lists_only_uploads_so_a_missing_input_is_404(stack):
    policy = stack.role_policy("vidpipe-transcode-task")
    (listing,) = [s for s in policy["Statement"] if "s3:ListBucket" in s["Action"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*"]}}


def test_operators_policy_has_exactly_what_the_operator_commands_need(stack):
    (policy,) = stack.of_type("aws:iam/policy:Policy")
    assert stack.outputs["operatorsPolicyArn"] == policy.outputs["arn"]
    consume = {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }
    expected = {("states:ListExecutions", state_machine(stack))}
    expected |= {
        (a, executions(stack)) for a in ("states:DescribeExecution", "states:GetExecutionHistory")
    }
    # Commands (video.retry) go to the status queue, which the poller consumes.
    expected |= {("sqs:SendMessage", queue(stack, "status"))}
    expected |= {(a, queue(stack, q)) for a in consume for q in ("replies", "dlq")}
    assert grants(policy.json("policy")) == expected


def test_webhook_role_may_only_invoke_its_api_destination(tuned_stack):
    (destination,) = tuned_stack.of_type("aws:cloudwatch/eventApiDestination:EventApiDestination")
    (role,) = [r for r in tuned_stack.of_type("aws:iam/role:Role") if r.name == "vidpipe-webhook"]
    (statement,) = role.json("assumeRolePolicy")["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert grants(tuned_stack.role_policy("vidpipe-webhook")) == {
        ("events:InvokeApiDestination", destination.outputs["arn"])
    }


def test_execution_role_policies(stack):
    secret = {
        name: arn(stack, "aws:secretsmanager/secret:Secret", f"vidpipe-{name}")
        for name in ("db-password", "jwt-secret")
    }
    repo = {
        name: arn(stack, "aws:ecr/repository:Repository", f"vidpipe-{name}")
        for name in ("api", "job")
    }
    pull = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
    for role, image, secrets in (
        ("api", "api", ["db-password", "jwt-secret"]),
        ("poller", "api", ["db-password"]),
        ("transcode", "job", []),
    ):
        group = arn(stack, "aws:cloudwatch/logGroup:LogGroup", f"vidpipe-{role}")
        expected = {("ecr:GetAuthorizationToken", "*")}
        expected |= {(a, repo[image]) for a in pull}
        expected |= {(a, f"{group}:*") for a in ("logs:CreateLogStream", "logs:PutLogEvents")}
        expected |= {("secretsmanager:GetSecretValue", secret[s]) for s in secrets}
        assert grants(stack.role_policy(f"vidpipe-{role}-exec")) == expected, role


def test_task_definitions_use_their_own_roles(stack):
    for service in ("api", "poller", "transcode"):
        inputs = stack.one("aws:ecs/taskDefinition:TaskDefinition", f"vidpipe-{service}").inputs
        assert inputs["taskRoleArn"] == arn(stack, "aws:iam/role:Role", f"vidpipe-{service}-task")
        assert inputs["executionRoleArn"] == arn(
            stack, "aws:iam/role:Role", f"vidpipe-{service}-exec"
        )


def test_policy_names_come_from_the_component_name():
    from vidpipe_infra.iam import Roles

    import pulumi

    from .harness import RecordingMocks

    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="vidpipe", stack="test", preview=False)

    @pulumi.runtime.test
    def build():
        roles = Roles("blue")
        roles.allow_state_machine(
            task_definition_family_arn="arn:aws:ecs:r:1:task-definition/f",
            cluster_arn="arn:aws:ecs:r:1:cluster/c",
            status_queue_arn="arn:aws:sqs:r:1:s",
            dlq_arn="arn:aws:sqs:r:1:d",
            event_bus_arn="arn:aws:events:r:1:event-bus/b",
        )
        return roles.operators(
            state_machine_arn="arn:aws:states:r:1:stateMachine:m",
            status_queue_arn="arn:aws:sqs:r:1:s",
            replies_queue_arn="arn:aws:sqs:r:1:r",
            dlq_arn="arn:aws:sqs:r:1:d",
        ).arn

    build()
    policies = {
        r.name
        for r in mocks.resources
        if r.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
    }
    assert policies == {"blue-states-policy", "blue-operators"}
