"""CloudWatch: a log group per service, alarms, and one dashboard.

Alarms (all notify the alarm SNS topic; subscribe an address with `alarmEmail`):
  DLQ depth > 0, ExecutionsFailed > 0, ExecutionsTimedOut > 0, API 5xx (targets and the ALB
  itself) > api5xxAlarmThreshold per 5 minutes,
  jobs queue oldest message > jobsOldestMessageAlarmSeconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi_aws as aws

import pulumi

from .config import StackConfig, stack_slug

LOGGED = ("api", "poller", "transcode")


@dataclass
class LogGroupsArgs:
    """Inputs of `LogGroups`: the stack config (logRetentionDays)."""

    cfg: StackConfig


class LogGroups(pulumi.ComponentResource):
    def __init__(self, name: str, args: LogGroupsArgs, opts: pulumi.ResourceOptions | None = None):
        cfg = args.cfg
        super().__init__("vidpipe:infra:LogGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.groups = {
            service: aws.cloudwatch.LogGroup(
                f"{name}-{service}",
                name=f"/vidpipe/{stack_slug()}/{service}",
                retention_in_days=cfg.log_retention_days,
                opts=child,
            )
            for service in LOGGED
        }
        # The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's CloudWatch
        # Logs resource policy with one entry per state machine.
        self.groups["states"] = aws.cloudwatch.LogGroup(
            f"{name}-states",
            name=f"/aws/vendedlogs/states/vidpipe-{stack_slug()}",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )
        self.register_outputs({})


@dataclass
class MonitoringArgs:
    """Inputs of `Monitoring`: what the alarms and the dashboard watch."""

    cfg: StackConfig
    jobs_queue_name: pulumi.Input[str]
    status_queue_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]
    state_machine_arn: pulumi.Input[str]
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    api_service_name: pulumi.Input[str]
    poller_service_name: pulumi.Input[str]


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Monitoring", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(f"{name}-alarms", opts=self._child)
        if args.cfg.alarm_email:
            aws.sns.TopicSubscription(
                f"{name}-alarms-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.cfg.alarm_email,
                opts=self._child,
            )
        self.alarms = self._alarms(args)
        self.dashboard = self._dashboard(args)
        self.register_outputs({})

    def _alarms(self, args: MonitoringArgs) -> dict[str, aws.cloudwatch.MetricAlarm]:
        name, child, cfg = self._name, self._child, args.cfg
        jobs_queue_name, dlq_name = args.jobs_queue_name, args.dlq_name
        state_machine_arn, alb_arn_suffix = args.state_machine_arn, args.alb_arn_suffix
        target_group_arn_suffix = args.target_group_arn_suffix

        def alarm(
            key: str,
            description: str,
            namespace: str,
            metric: str,
            dimensions: dict,
            statistic: str,
            threshold: float,
            period: int = 60,
            evaluation_periods: int = 1,
        ):
            return aws.cloudwatch.MetricAlarm(
                f"{name}-{key}",
                alarm_description=description,
                namespace=namespace,
                metric_name=metric,
                dimensions=dimensions,
                statistic=statistic,
                period=period,
                evaluation_periods=evaluation_periods,
                comparison_operator="GreaterThanThreshold",
                threshold=threshold,
                # No data means nothing happened (no messages, no executions): not an incident.
                treat_missing_data="notBreaching",
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                opts=child,
            )

        return {
            "dlq-depth": alarm(
                "dlq-depth",
                "A video failed: messages in the DLQ",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": dlq_name},
                "Maximum",
                0,
            ),
            "executions-failed": alarm(
                "executions-failed",
                "Pipeline executions failed",
                "AWS/States",
                "ExecutionsFailed",
                {"StateMachineArn": state_machine_arn},
                "Sum",
                0,
            ),
            "executions-timed-out": alarm(
                "executions-timed-out",
                "Pipeline executions timed out",
                "AWS/States",
                "ExecutionsTimedOut",
                {"StateMachineArn": state_machine_arn},
                "Sum",
                0,
            ),
            "api-target-5xx": alarm(
                "api-target-5xx",
                "API answered 5xx",
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                {"LoadBalancer": alb_arn_suffix, "TargetGroup": target_group_arn_suffix},
                "Sum",
                cfg.api_5xx_alarm_threshold,
                period=300,
            ),
            # 502/503/504 from the ALB itself: no healthy API task, or tasks not answering.
            "alb-5xx": alarm(
                "alb-5xx",
                "ALB answered 5xx (no healthy API)",
                "AWS/ApplicationELB",
                "HTTPCode_ELB_5XX_Count",
                {"LoadBalancer": alb_arn_suffix},
                "Sum",
                cfg.api_5xx_alarm_threshold,
                period=300,
            ),
            "jobs-oldest-message": alarm(
                "jobs-oldest-message",
                "Videos wait too long for processing",
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                {"QueueName": jobs_queue_name},
                "Maximum",
                cfg.jobs_oldest_message_alarm_seconds,
                period=300,
            ),
        }

    def _dashboard(self, args: MonitoringArgs) -> aws.cloudwatch.Dashboard:
        body = pulumi.Output.all(
            region=aws.get_region_output().region,
            jobs=args.jobs_queue_name,
            status=args.status_queue_name,
            dlq=args.dlq_name,
            sm=args.state_machine_arn,
            alb=args.alb_arn_suffix,
            tg=args.target_group_arn_suffix,
            cluster=args.cluster_name,
            api=args.api_service_name,
            poller=args.poller_service_name,
            alarms=pulumi.Output.all(*[a.arn for a in self.alarms.values()]),
        ).apply(lambda v: json.dumps(dashboard_body(**v)))
        return aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=f"vidpipe-{stack_slug()}",
            dashboard_body=body,
            opts=self._child,
        )


def dashboard_body(*, region, jobs, status, dlq, sm, alb, tg, cluster, api, poller, alarms) -> dict:
    def graph(
        title: str, metrics: list, x: int, y: int, stat: str = "Sum", period: int = 60
    ) -> dict:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": period,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }

    insights = "ECS/ContainerInsights"
    return {
        "widgets": [
            {
                "type": "alarm",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": 3,
                "properties": {"title": "Alarms", "alarms": list(alarms)},
            },
            graph(
                "Queue depth",
                [
                    [
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        jobs,
                        {"label": "jobs"},
                    ],
                    [
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        status,
                        {"label": "status"},
                    ],
                    [
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        dlq,
                        {"label": "DLQ"},
                    ],
                ],
                0,
                3,
                stat="Maximum",
            ),
            graph(
                "Jobs queue: oldest message (s)",
                [
                    ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", jobs],
                ],
                12,
                3,
                stat="Maximum",
            ),
            graph(
                "Executions",
                [
                    ["AWS/States", "ExecutionsStarted", "StateMachineArn", sm],
                    ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", sm],
                    ["AWS/States", "ExecutionsFailed", "StateMachineArn", sm],
                    ["AWS/States", "ExecutionsTimedOut", "StateMachineArn", sm],
                    ["AWS/States", "ExecutionsAborted", "StateMachineArn", sm],
                ],
                0,
                9,
            ),
            # Step Functions publishes no per-state-machine "running" gauge; every running
            # execution past MarkProcessing is one running transcode task. Container Insights
            # counts tasks per cluster (TaskCount by ClusterName) and per service
            # (RunningTaskCount by ClusterName, ServiceName), not per task family: the transcode
            # tasks are the cluster's tasks that belong to neither service.
            graph(
                "Running executions (transcode tasks)",
                [
                    [
                        {
                            "expression": "cluster_tasks - api_tasks - poller_tasks",
                            "label": "transcode tasks",
                            "id": "transcode",
                        }
                    ],
                    [
                        insights,
                        "TaskCount",
                        "ClusterName",
                        cluster,
                        {"id": "cluster_tasks", "visible": False},
                    ],
                    [
                        insights,
                        "RunningTaskCount",
                        "ClusterName",
                        cluster,
                        "ServiceName",
                        api,
                        {"id": "api_tasks", "visible": False},
                    ],
                    [
                        insights,
                        "RunningTaskCount",
                        "ClusterName",
                        cluster,
                        "ServiceName",
                        poller,
                        {"id": "poller_tasks", "visible": False},
                    ],
                ],
                12,
                9,
                stat="Maximum",
            ),
            graph(
                "Task counts",
                [
                    [
                        insights,
                        "RunningTaskCount",
                        "ClusterName",
                        cluster,
                        "ServiceName",
                        api,
                        {"label": "api running"},
                    ],
                    [
                        insights,
                        "DesiredTaskCount",
                        "ClusterName",
                        cluster,
                        "ServiceName",
                        api,
                        {"label": "api desired"},
                    ],
                    [
                        insights,
                        "RunningTaskCount",
                        "ClusterName",
                        cluster,
                        "ServiceName",
                        poller,
                        {"label": "poller running"},
                    ],
                ],
                0,
                15,
                stat="Maximum",
            ),
            graph(
                "API 5xx",
                [
                    [
                        "AWS/ApplicationELB",
                        "HTTPCode_Target_5XX_Count",
                        "LoadBalancer",
                        alb,
                        "TargetGroup",
                        tg,
                    ],
                    ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb],
                ],
                12,
                15,
                period=300,
            ),
            graph(
                "API CPU (target 50 %)",
                [
                    ["AWS/ECS", "CPUUtilization", "ClusterName", cluster, "ServiceName", api],
                ],
                0,
                21,
                stat="Average",
            ),
        ]
    }
