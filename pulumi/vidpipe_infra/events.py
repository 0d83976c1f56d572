"""Completion events: the stack's EventBridge bus, the rule for vidpipe's events, an optional webhook.

The state machine puts one event per finished video on the bus `vidpipe-<stack>` (source `vidpipe`,
detail types `Video Processed` / `Video Failed`; `arn:aws:states:::events:putEvents`, so it shows
in the execution history). The rule matches them; with `webhookUrl` set, its target is an
EventBridge API destination that POSTs each event to that URL with a generated token header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi_aws as aws
import pulumi_random as random

import pulumi

from .config import StackConfig, stack_slug

EVENT_SOURCE = "vidpipe"
DETAIL_TYPES = ("Video Processed", "Video Failed")
# Deliveries per second to the webhook at most (EventBridge queues the rest and retries).
WEBHOOK_RATE_PER_SECOND = 10


def completion_pattern() -> dict:
    return {"source": [EVENT_SOURCE], "detail-type": list(DETAIL_TYPES)}


def invoke_destination_policy(api_destination_arn: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Webhook",
                "Effect": "Allow",
                "Action": ["events:InvokeApiDestination"],
                # The destination's ARN ends with a generated suffix: allow this one only.
                "Resource": [api_destination_arn],
            }
        ],
    }


def events_trust(account: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }


@dataclass
class EventsArgs:
    """Inputs of `Events`: the stack config (webhookUrl, webhookAuthHeader)."""

    cfg: StackConfig


class Events(pulumi.ComponentResource):
    def __init__(self, name: str, args: EventsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Events", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self.bus = aws.cloudwatch.EventBus(
            f"{name}-bus", name=f"vidpipe-{stack_slug()}", opts=self._child
        )
        self.bus_name = self.bus.name
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-completed",
            description="vidpipe: a video was processed or failed",
            event_bus_name=self.bus.name,
            event_pattern=json.dumps(completion_pattern()),
            opts=self._child,
        )
        self.webhook_token: pulumi.Output[str] | None = None
        if args.cfg.webhook_url:
            self._webhook(args.cfg)
        self.register_outputs({"eventBusName": self.bus.name})

    def _webhook(self, cfg: StackConfig) -> None:
        name, child = self._name, self._child
        token = random.RandomPassword(f"{name}-webhook-token", length=40, special=False, opts=child)
        self.webhook_token = pulumi.Output.secret(token.result)
        # EventBridge keeps the header value in a Secrets Manager secret it manages.
        self.connection = aws.cloudwatch.EventConnection(
            f"{name}-webhook",
            authorization_type="API_KEY",
            auth_parameters={"api_key": {"key": cfg.webhook_auth_header, "value": token.result}},
            opts=child,
        )
        self.destination = aws.cloudwatch.EventApiDestination(
            f"{name}-webhook",
            connection_arn=self.connection.arn,
            invocation_endpoint=cfg.webhook_url,
            http_method="POST",
            invocation_rate_limit_per_second=WEBHOOK_RATE_PER_SECOND,
            opts=child,
        )
        account = aws.get_caller_identity_output().account_id
        role = aws.iam.Role(
            f"{name}-webhook",
            assume_role_policy=account.apply(lambda a: json.dumps(events_trust(a))),
            description="EventBridge: deliver vidpipe events to the webhook",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-webhook-policy",
            role=role.id,
            policy=self.destination.arn.apply(
                lambda arn: json.dumps(invoke_destination_policy(arn), sort_keys=True)
            ),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-webhook",
            rule=self.rule.name,
            event_bus_name=self.bus.name,
            arn=self.destination.arn,
            role_arn=role.arn,
            # A day of retries, then the event is dropped (the execution history keeps it).
            retry_policy={"maximum_event_age_in_seconds": 86400, "maximum_retry_attempts": 185},
            opts=child,
        )
