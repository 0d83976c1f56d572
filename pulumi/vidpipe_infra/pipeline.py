"""The Step Functions state machine, rendered from statemachines/video_pipeline.asl.json.

The file is the one the local cloud runs; `statemachines.render_definition` substitutes its
placeholders (and raises KeyError for any placeholder this program does not supply).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pulumi_aws as aws

import pulumi
from statemachines import definition_values, placeholders, render_definition


def placeholder_values(**values: Any) -> dict:
    """The shared placeholder values (statemachines.definition_values) from what this program
    knows, passing each function argument it declares; the completion events' bus and the API's
    URL are added by name for a definition_values that does not know them yet."""
    accepted = inspect.signature(definition_values).parameters
    out = definition_values(**{k: v for k, v in values.items() if k in accepted})
    extra = {"EventBusName": values["event_bus_name"], "ApiBaseUrl": values["api_base_url"]}
    return {**extra, **out}


def render(values: dict, template: str | None = None) -> str:
    """The ASL file (or `template`) with the placeholders it names filled from `values`."""
    wanted = placeholders(template)
    return render_definition({k: v for k, v in values.items() if k in wanted}, template)


@dataclass
class PipelineArgs:
    """Inputs of `Pipeline`: the role, the log group and the placeholder values."""

    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    cluster_arn: pulumi.Input[str]
    # Without revision: RunTask takes the latest ACTIVE revision, so executions already running
    # during a deploy still start their transcode task.
    task_definition_family_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    assign_public_ip: str
    status_queue_url: pulumi.Input[str]
    dlq_url: pulumi.Input[str]
    event_bus_name: pulumi.Input[str]
    # The API's public origin; completion events link to <api_base_url>/api/videos/<id>.
    api_base_url: pulumi.Input[str]
    log_level: str = "ERROR"
    log_execution_data: bool = False
    # The role's policy: Step Functions validates logging and X-Ray permissions at creation.
    depends_on: Sequence[pulumi.Resource] = ()


class Pipeline(pulumi.ComponentResource):
    def __init__(self, name: str, args: PipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Pipeline", name, None, opts)
        values = pulumi.Output.all(
            cluster_arn=args.cluster_arn,
            task_definition_arn=args.task_definition_family_arn,
            subnet_ids=pulumi.Output.all(*args.subnet_ids),
            security_group_ids=pulumi.Output.all(*args.security_group_ids),
            status_queue_url=args.status_queue_url,
            dlq_url=args.dlq_url,
            event_bus_name=args.event_bus_name,
            api_base_url=args.api_base_url,
        ).apply(lambda v: placeholder_values(assign_public_ip=args.assign_public_ip, **v))
        rendered = values.apply(render)
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-pipeline",
            type="STANDARD",
            role_arn=args.role.arn,
            definition=rendered,
            logging_configuration={
                # Step Functions requires the ":*" form of the log group ARN.
                "log_destination": args.log_group.arn.apply(lambda arn: f"{arn}:*"),
                # ERROR without execution data by default: ALL with data would write every task
                # token and payload to CloudWatch (stateMachineLogLevel / ...LogExecutionData).
                "include_execution_data": args.log_execution_data,
                "level": args.log_level,
            },
            tracing_configuration={"enabled": True},
            # The role's policy must exist before Step Functions validates logging and X-Ray.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.arn = self.state_machine.arn
        region = aws.get_region_output().region
        # The console page listing this state machine's executions.
        self.console_url = pulumi.Output.all(region, self.arn).apply(
            lambda v: f"https://{v[0]}.console.aws.amazon.com/states/home?region={v[0]}"
            f"#/statemachines/view/{quote(v[1], safe='')}"
        )
        self.register_outputs({"stateMachineArn": self.arn})
