"""SQS: the jobs queue (redrive to the DLQ), the status queue, the DLQ, the operators' replies.

Visibility timeouts follow the poller: it long-polls (20 s) and must finish one message (start an
execution, or write a status to the database) well inside the visibility timeout, otherwise the
message reappears and, for the jobs queue, counts toward `jobsMaxReceiveCount`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi_aws as aws

import pulumi

from .config import StackConfig

LONG_POLL_SECONDS = 20
FOURTEEN_DAYS = 14 * 24 * 3600
# An answer to an operator's command is read within seconds or not at all.
REPLIES_RETENTION_SECONDS = 300


@dataclass
class QueuesArgs:
    """Inputs of `Queues`: the stack config (visibility timeouts, jobsMaxReceiveCount)."""

    cfg: StackConfig


class Queues(pulumi.ComponentResource):
    def __init__(self, name: str, args: QueuesArgs, opts: pulumi.ResourceOptions | None = None):
        cfg = args.cfg
        super().__init__("vidpipe:infra:Queues", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # The DLQ keeps failed videos for the maximum 14 days so an operator can inspect and
        # re-drive them; it receives from the jobs queue's redrive and from the state machine.
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=FOURTEEN_DAYS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.jobs = aws.sqs.Queue(
            f"{name}-jobs",
            visibility_timeout_seconds=cfg.jobs_visibility_timeout_seconds,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            # Longer than the redrive can take, so a message always reaches the DLQ instead of
            # expiring silently.
            message_retention_seconds=4 * 24 * 3600,
            sqs_managed_sse_enabled=True,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": cfg.jobs_max_receive_count}
                )
            ),
            opts=child,
        )
        # Only the jobs queue may redrive into the DLQ.
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=self.dlq.url,
            redrive_allow_policy=self.jobs.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        self.status = aws.sqs.Queue(
            f"{name}-status",
            visibility_timeout_seconds=cfg.status_visibility_timeout_seconds,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        # The poller answers operators' commands (`vidpipe retry`, `vidpipe dlq redrive`) here.
        self.replies = aws.sqs.Queue(
            f"{name}-replies",
            message_retention_seconds=REPLIES_RETENTION_SECONDS,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.register_outputs(
            {
                "jobsQueueUrl": self.jobs.url,
                "statusQueueUrl": self.status.url,
                "dlqUrl": self.dlq.url,
                "repliesQueueUrl": self.replies.url,
            }
        )
