"""IAM roles and their least-privilege inline policies.

Policy documents are built by plain functions from resolved ARNs, so each statement can be read
(and unit-tested) as JSON. Every action is named; `"Resource": "*"` appears only where AWS offers
no resource-level permission for the action (see WILDCARD_RESOURCE_ACTIONS).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi_aws as aws

import pulumi

from .storage import PROCESSED_PREFIX, UPLOADS_PREFIX

# The only actions granted on "*", and why AWS requires it.
WILDCARD_RESOURCE_ACTIONS = {
    # GetAuthorizationToken returns a registry-wide login token; ECR defines no resource for it.
    "ecr:GetAuthorizationToken",
    # CloudWatch Logs vended-log delivery (Step Functions logging) supports no resource-level
    # permissions; AWS documents these with "Resource": "*".
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    # X-Ray trace ingestion has no resource-level permissions.
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}


def _statement(sid: str, actions: Sequence[str], resources: Sequence[str] | str, **extra) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources, **extra}


def _policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def execution_arns(state_machine_arn: str) -> str:
    """All executions of one state machine: ...:stateMachine:NAME -> ...:execution:NAME:*."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":*"


# --- trust policies ------------------------------------------------------------------------------


def ecs_tasks_trust(partition: str, region: str, account: str) -> dict:
    # Source conditions stop another account's ECS from assuming the role (confused deputy).
    return _policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:ecs:{region}:{account}:*"},
                "StringEquals": {"aws:SourceAccount": account},
            },
        }
    )


def states_trust(partition: str, region: str, account: str) -> dict:
    return _policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {
                    "aws:SourceArn": f"arn:{partition}:states:{region}:{account}:stateMachine:*"
                },
                "StringEquals": {"aws:SourceAccount": account},
            },
        }
    )


# --- permission policies -------------------------------------------------------------------------


def api_task_policy(
    bucket_arn: str,
    jobs_queue_arn: str,
    status_queue_arn: str,
    dlq_arn: str,
    state_machine_arn: str,
) -> dict:
    return _policy(
        # Streamed (multipart) uploads of originals, presigned GETs, removal on delete.
        _statement(
            "Uploads",
            ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [f"{bucket_arn}/{UPLOADS_PREFIX}*"],
        ),
        _statement(
            "Processed", ["s3:GetObject", "s3:DeleteObject"], [f"{bucket_arn}/{PROCESSED_PREFIX}*"]
        ),
        # Deleting a video lists its processed/<id>/ prefix; listing is limited to that prefix.
        _statement(
            "ListProcessed",
            ["s3:ListBucket"],
            [bucket_arn],
            Condition={"StringLike": {"s3:prefix": [f"{PROCESSED_PREFIX}*"]}},
        ),
        # Publish jobs (uploads, the console's retry); GetQueueAttributes is the /api/health
        # check and the console's queue depths.
        _statement("JobsQueue", ["sqs:SendMessage", "sqs:GetQueueAttributes"], [jobs_queue_arn]),
        _statement("QueueDepths", ["sqs:GetQueueAttributes"], [status_queue_arn]),
        # The operators' console lists, releases and removes DLQ messages (its redrive).
        _statement(
            "DeadLetters",
            [
                "sqs:ReceiveMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ],
            [dlq_arn],
        ),
        # The console's list of runs.
        _statement("ListRuns", ["states:ListExecutions"], [state_machine_arn]),
        # Read execution history (players' and the console's); StopExecution when a video is
        # deleted mid-pipeline.
        _statement(
            "Executions",
            [
                "states:DescribeExecution",
                "states:DescribeStateMachineForExecution",
                "states:GetExecutionHistory",
                "states:StopExecution",
            ],
            [execution_arns(state_machine_arn)],
        ),
    )


def poller_task_policy(
    bucket_arn: str,
    jobs_queue_arn: str,
    status_queue_arn: str,
    dlq_arn: str,
    replies_queue_arn: str,
    state_machine_arn: str,
) -> dict:
    consume = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    ]
    return _policy(
        # SendMessage: the poller's sweeper re-sends jobs SQS never accepted.
        _statement("JobsQueue", [*consume, "sqs:SendMessage"], [jobs_queue_arn]),
        _statement("StatusQueue", consume, [status_queue_arn]),
        # The sweeper fails a video that keeps dying with a `video.failed` message in the DLQ.
        _statement("DeadLetters", ["sqs:SendMessage"], [dlq_arn]),
        # Answers to operators' commands (video.retry) read by `vidpipe retry` / `dlq redrive`.
        _statement("Replies", ["sqs:SendMessage"], [replies_queue_arn]),
        # ListExecutions counts running executions for back-pressure.
        _statement(
            "StartExecutions",
            ["states:StartExecution", "states:ListExecutions"],
            [state_machine_arn],
        ),
        _statement(
            "Executions",
            ["states:DescribeExecution", "states:StopExecution"],
            [execution_arns(state_machine_arn)],
        ),
        # Answers the MarkProcessing callback (sqs:sendMessage.waitForTaskToken).
        _statement(
            "TaskTokens", ["states:SendTaskSuccess", "states:SendTaskFailure"], [state_machine_arn]
        ),
        # A job's output that lands after its video was deleted is removed when the poller
        # records it (vidpipe.videos.mark_processed): list processed/<id>/, delete what is there.
        _statement("LateOutput", ["s3:DeleteObject"], [f"{bucket_arn}/{PROCESSED_PREFIX}*"]),
        _statement(
            "ListLateOutput",
            ["s3:ListBucket"],
            [bucket_arn],
            Condition={"StringLike": {"s3:prefix": [f"{PROCESSED_PREFIX}*"]}},
        ),
    )


def transcode_task_policy(bucket_arn: str, status_queue_arn: str, state_machine_arn: str) -> dict:
    return _policy(
        _statement("ReadUploads", ["s3:GetObject"], [f"{bucket_arn}/{UPLOADS_PREFIX}*"]),
        # Without s3:ListBucket S3 answers 403, not 404, for a missing key: a video deleted
        # mid-run would read as a refused download (Transcode.Failed, retried) instead of
        # "the uploaded file was not found". Listing is limited to uploads/.
        _statement(
            "ListUploads",
            ["s3:ListBucket"],
            [bucket_arn],
            Condition={"StringLike": {"s3:prefix": [f"{UPLOADS_PREFIX}*"]}},
        ),
        _statement(
            "WriteProcessed",
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [f"{bucket_arn}/{PROCESSED_PREFIX}*"],
        ),
        # Progress messages (`video.progress`, fire-and-forget) to the status queue the poller reads.
        _statement("Progress", ["sqs:SendMessage"], [status_queue_arn]),
        _statement(
            "TaskToken",
            ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            [state_machine_arn],
        ),
    )


def execution_role_policy(
    repository_arn: str, log_group_arn: str, secret_arns: Sequence[str]
) -> dict:
    statements = [
        _statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
        _statement(
            "EcrPull",
            ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            [repository_arn],
        ),
        _statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
    ]
    if secret_arns:
        statements.append(
            _statement("Secrets", ["secretsmanager:GetSecretValue"], list(secret_arns))
        )
    return _policy(*statements)


def operators_policy(
    state_machine_arn: str, status_queue_arn: str, replies_queue_arn: str, dlq_arn: str
) -> dict:
    """Exactly what the operator commands need against AWS, without the database:
    `vidpipe history` reads executions; `vidpipe retry` and `vidpipe dlq redrive` send
    `video.retry` commands on the status queue (the poller carries them out) and read its answers
    on the replies queue; `dlq list|redrive` read and remove DLQ messages (a listed message is
    released by setting its visibility back to 0)."""
    consume = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    ]
    return _policy(
        _statement("FindRuns", ["states:ListExecutions"], [state_machine_arn]),
        _statement(
            "ReadRuns",
            ["states:DescribeExecution", "states:GetExecutionHistory"],
            [execution_arns(state_machine_arn)],
        ),
        _statement("SendCommands", ["sqs:SendMessage"], [status_queue_arn]),
        _statement("ReadRepliesAndDeadLetters", consume, [replies_queue_arn, dlq_arn]),
    )


def state_machine_policy(
    task_definition_family_arn: str,
    cluster_arn: str,
    passable_role_arns: Sequence[str],
    queue_arns: Sequence[str],
    event_bus_arn: str,
) -> dict:
    # Tasks of this cluster only: arn:...:cluster/NAME -> arn:...:task/NAME/*.
    cluster_tasks = cluster_arn.replace(":cluster/", ":task/", 1) + "/*"
    return _policy(
        # ecs:runTask.waitForTaskToken needs RunTask, plus StopTask/DescribeTasks so Step Functions
        # can stop the task when the execution is stopped or times out. No events:* rule
        # permissions: those are only for the .sync pattern.
        _statement(
            "RunTranscode",
            ["ecs:RunTask"],
            [task_definition_family_arn, f"{task_definition_family_arn}:*"],
            Condition={"ArnEquals": {"ecs:cluster": cluster_arn}},
        ),
        _statement("ManageTranscode", ["ecs:StopTask", "ecs:DescribeTasks"], [cluster_tasks]),
        _statement(
            "PassTranscodeRoles",
            ["iam:PassRole"],
            list(passable_role_arns),
            Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        _statement("SendStatus", ["sqs:SendMessage"], list(queue_arns)),
        # Completion events (arn:aws:states:::events:putEvents) on the stack's bus only.
        _statement("PutCompletionEvents", ["events:PutEvents"], [event_bus_arn]),
        _statement(
            "LogDelivery",
            [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "*",
        ),
        _statement(
            "XRay",
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            "*",
        ),
    )


# --- resources -----------------------------------------------------------------------------------


class Roles(pulumi.ComponentResource):
    """The roles, created empty so task definitions can reference them; policies come later."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Roles", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output().partition
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id
        ecs_trust = pulumi.Output.all(partition, region, account).apply(
            lambda v: json.dumps(ecs_tasks_trust(*v))
        )
        sfn_trust = pulumi.Output.all(partition, region, account).apply(
            lambda v: json.dumps(states_trust(*v))
        )

        def role(role_name: str, trust, description: str) -> aws.iam.Role:
            return aws.iam.Role(
                f"{name}-{role_name}", assume_role_policy=trust, description=description, opts=child
            )

        self.api_task = role(
            "api-task", ecs_trust, "vidpipe API task: media bucket, jobs queue, executions"
        )
        self.poller_task = role(
            "poller-task", ecs_trust, "vidpipe poller task: queues, start executions"
        )
        self.transcode_task = role(
            "transcode-task", ecs_trust, "vidpipe transcode task: media, task tokens"
        )
        self.api_execution = role(
            "api-exec", ecs_trust, "ECS agent for the API: pull, logs, secrets"
        )
        self.poller_execution = role(
            "poller-exec", ecs_trust, "ECS agent for the poller: pull, logs, secret"
        )
        self.transcode_execution = role(
            "transcode-exec", ecs_trust, "ECS agent for transcode: pull, logs"
        )
        self.state_machine = role(
            "states", sfn_trust, "vidpipe state machine: run transcode, send status"
        )
        self.register_outputs({})

    def _attach(
        self, policy_name: str, role: aws.iam.Role, document: pulumi.Output
    ) -> aws.iam.RolePolicy:
        return aws.iam.RolePolicy(
            policy_name,
            role=role.id,
            policy=document.apply(lambda doc: json.dumps(doc, sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def allow_state_machine(
        self,
        *,
        task_definition_family_arn: pulumi.Input[str],
        cluster_arn: pulumi.Input[str],
        status_queue_arn: pulumi.Input[str],
        dlq_arn: pulumi.Input[str],
        event_bus_arn: pulumi.Input[str],
    ) -> aws.iam.RolePolicy:
        """The state machine's policy; it must exist before the state machine is created."""
        document = pulumi.Output.all(
            task_definition_family_arn,
            cluster_arn,
            pulumi.Output.all(self.transcode_task.arn, self.transcode_execution.arn),
            pulumi.Output.all(status_queue_arn, dlq_arn),
            event_bus_arn,
        ).apply(lambda v: state_machine_policy(*v))
        return self._attach(f"{self._name}-states-policy", self.state_machine, document)

    def allow_tasks(
        self,
        *,
        bucket_arn: pulumi.Input[str],
        jobs_queue_arn: pulumi.Input[str],
        status_queue_arn: pulumi.Input[str],
        dlq_arn: pulumi.Input[str],
        replies_queue_arn: pulumi.Input[str],
        state_machine_arn: pulumi.Input[str],
        api_repository_arn: pulumi.Input[str],
        job_repository_arn: pulumi.Input[str],
        log_group_arns: dict[str, pulumi.Input[str]],
        db_password_secret_arn: pulumi.Input[str],
        jwt_secret_arn: pulumi.Input[str],
    ) -> list[aws.iam.RolePolicy]:
        """Task and execution role policies (returned, so the services can wait for them); they
        need the state machine's ARN."""
        all_ = pulumi.Output.all
        attached = []
        attached.append(
            self._attach(
                f"{self._name}-api-task-policy",
                self.api_task,
                all_(
                    bucket_arn, jobs_queue_arn, status_queue_arn, dlq_arn, state_machine_arn
                ).apply(lambda v: api_task_policy(*v)),
            )
        )
        attached.append(
            self._attach(
                f"{self._name}-poller-task-policy",
                self.poller_task,
                all_(
                    bucket_arn,
                    jobs_queue_arn,
                    status_queue_arn,
                    dlq_arn,
                    replies_queue_arn,
                    state_machine_arn,
                ).apply(lambda v: poller_task_policy(*v)),
            )
        )
        attached.append(
            self._attach(
                f"{self._name}-transcode-task-policy",
                self.transcode_task,
                all_(bucket_arn, status_queue_arn, state_machine_arn).apply(
                    lambda v: transcode_task_policy(*v)
                ),
            )
        )
        # Each execution role reads only the secrets its container receives.
        for service, role, repository, secret_arns in (
            (
                "api",
                self.api_execution,
                api_repository_arn,
                [db_password_secret_arn, jwt_secret_arn],
            ),
            ("poller", self.poller_execution, api_repository_arn, [db_password_secret_arn]),
            ("transcode", self.transcode_execution, job_repository_arn, []),
        ):
            document = all_(repository, log_group_arns[service], all_(*secret_arns)).apply(
                lambda v: execution_role_policy(*v)
            )
            attached.append(self._attach(f"{self._name}-{service}-exec-policy", role, document))
        return attached

    def operators(
        self,
        *,
        state_machine_arn: pulumi.Input[str],
        status_queue_arn: pulumi.Input[str],
        replies_queue_arn: pulumi.Input[str],
        dlq_arn: pulumi.Input[str],
    ) -> aws.iam.Policy:
        """The managed policy operators attach to themselves (output `operatorsPolicyArn`)."""
        document = pulumi.Output.all(
            state_machine_arn, status_queue_arn, replies_queue_arn, dlq_arn
        ).apply(lambda v: json.dumps(operators_policy(*v), sort_keys=True))
        return aws.iam.Policy(
            f"{self._name}-operators",
            description="vidpipe operators: history, retry, dlq list/redrive (no database)",
            policy=document,
            opts=pulumi.ResourceOptions(parent=self),
        )
