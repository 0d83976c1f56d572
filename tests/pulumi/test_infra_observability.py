"""CloudWatch: log groups with retention, the five alarms with their thresholds, the dashboard."""

from __future__ import annotations

import json

from .harness import Stack

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarm(stack: Stack, namespace: str, metric: str) -> dict:
    (found,) = [
        a.inputs
        for a in stack.of_type(ALARM)
        if (a.inputs["namespace"], a.inputs["metricName"]) == (namespace, metric)
    ]
    return found


def test_a_log_group_per_service_with_retention(configured):
    stack, cfg = configured
    groups = {g.inputs["name"]: g.inputs for g in stack.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert groups.keys() == {
        "/vidpipe/test/api",
        "/vidpipe/test/poller",
        "/vidpipe/test/transcode",
        "/aws/vendedlogs/states/vidpipe-test",
    }
    assert {g["retentionInDays"] for g in groups.values()} == {cfg["logRetentionDays"]}


def test_alarms_and_thresholds(configured):
    stack, cfg = configured
    queue_name = {
        n: stack.one("aws:sqs/queue:Queue", f"vidpipe-{n}").outputs["name"] for n in ("jobs", "dlq")
    }
    (machine,) = stack.of_type("aws:sfn/stateMachine:StateMachine")
    (alb,) = stack.of_type("aws:lb/loadBalancer:LoadBalancer")

    dlq = alarm(stack, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["dimensions"] == {"QueueName": queue_name["dlq"]}
    assert (dlq["comparisonOperator"], dlq["threshold"]) == ("GreaterThanThreshold", 0)

    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        found = alarm(stack, "AWS/States", metric)
        assert found["dimensions"] == {"StateMachineArn": machine.outputs["arn"]}
        assert (found["comparisonOperator"], found["threshold"], found["statistic"]) == (
            "GreaterThanThreshold",
            0,
            "Sum",
        )

    for metric in ("HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count"):
        found = alarm(stack, "AWS/ApplicationELB", metric)
        assert found["dimensions"]["LoadBalancer"] == alb.outputs["arnSuffix"]
        assert (found["comparisonOperator"], found["threshold"]) == (
            "GreaterThanThreshold",
            cfg["api5xxAlarmThreshold"],
        )

    oldest = alarm(stack, "AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert oldest["dimensions"] == {"QueueName": queue_name["jobs"]}
    assert (oldest["comparisonOperator"], oldest["threshold"]) == (
        "GreaterThanThreshold",
        cfg["jobsOldestMessageAlarmSeconds"],
    )


def test_alarms_notify_the_topic(stack, tuned_stack):
    (topic,) = stack.of_type("aws:sns/topic:Topic")
    for found in stack.of_type(ALARM):
        assert found.inputs["alarmActions"] == [topic.outputs["arn"]], found.name
    assert stack.of_type("aws:sns/topicSubscription:TopicSubscription") == []
    (subscription,) = tuned_stack.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == (
        "email",
        "ops@example.com",
    )


def test_dashboard_shows_alarms_queues_executions_and_task_counts(stack):
    (dashboard,) = stack.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    metrics = [
        tuple(m)
        for w in body["widgets"]
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
        if isinstance(m[0], str)  # not a metric-math expression
    ]
    names = {(m[0], m[1]) for m in metrics}
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/States", "ExecutionsStarted"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("ECS/ContainerInsights", "RunningTaskCount"),
    } <= names
    queues = {m[3] for m in metrics if m[1] == "ApproximateNumberOfMessagesVisible"}
    assert queues == {
        stack.one("aws:sqs/queue:Queue", f"vidpipe-{n}").outputs["name"]
        for n in ("jobs", "status", "dlq")
    }
    running = [m for m in metrics if m[1] == "RunningTaskCount"]
    dimensions = [dict(zip(m[2::2], m[3::2], strict=False)) for m in running]
    assert {d.get("ServiceName") for d in dimensions} >= {"vidpipe-api", "vidpipe-poller"}
    (alarms,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert sorted(alarms["properties"]["alarms"]) == sorted(
        a.outputs["arn"] for a in stack.of_type(ALARM)
    )


# Container Insights (ECS) publishes these metrics with these dimension sets (CloudWatch User
# Guide, "Amazon ECS Container Insights metrics"); no task-count metric has TaskDefinitionFamily.
INSIGHTS_DIMENSIONS = {
    "TaskCount": [{"ClusterName"}],
    "RunningTaskCount": [{"ClusterName", "ServiceName"}],
    "DesiredTaskCount": [{"ClusterName", "ServiceName"}],
}


def test_dashboard_task_counts_use_dimensions_container_insights_publishes(stack):
    (dashboard,) = stack.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    for widget in body["widgets"]:
        for m in widget.get("properties", {}).get("metrics", []):
            if m[0] == "ECS/ContainerInsights":
                names = [x for x in m[2:] if not isinstance(x, dict)]
                assert set(names[0::2]) in INSIGHTS_DIMENSIONS[m[1]], m
    (graph,) = [
        w for w in body["widgets"] if w["properties"].get("title", "").startswith("Running exec")
    ]
    metrics = graph["properties"]["metrics"]
    (expression,) = [m[0] for m in metrics if isinstance(m[0], dict)]
    ids = {m[-1]["id"]: m for m in metrics if isinstance(m[0], str)}
    # transcode tasks = the cluster's tasks minus the API's and the poller's
    assert expression["expression"] == "cluster_tasks - api_tasks - poller_tasks"
    assert ids["cluster_tasks"][1:4] == ["TaskCount", "ClusterName", "vidpipe-cluster"]
    assert ids["api_tasks"][5] == "vidpipe-api" and ids["poller_tasks"][5] == "vidpipe-poller"
