"""ECS: the API behind the ALB with CPU target tracking, the poller, the transcode task definition
(run only by Step Functions), container settings from docs/architecture.md, and the images."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from vidpipe_infra.config import StackConfig
from vidpipe_infra.images import source_digest

from .harness import REPO, Stack, run_program

SHARED_ENV = {
    "VIDPIPE_BUCKET",
    "VIDPIPE_DATABASE_URL",
    "VIDPIPE_JOBS_QUEUE_URL",
    "VIDPIPE_STATUS_QUEUE_URL",
    "VIDPIPE_DLQ_URL",
    "VIDPIPE_STATE_MACHINE_ARN",
    "VIDPIPE_EVENT_BUS_NAME",
    "VIDPIPE_DB_POOL_SIZE",
    "VIDPIPE_DB_MAX_OVERFLOW",
    "AWS_DEFAULT_REGION",
}


def env(stack: Stack, task: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in stack.container(task)["environment"]}


def test_target_group_and_health_check(stack):
    (group,) = stack.of_type("aws:lb/targetGroup:TargetGroup")
    assert group.inputs["targetType"] == "ip"
    assert group.inputs["port"] == 8000 and group.inputs["protocol"] == "HTTP"
    assert group.inputs["healthCheck"]["path"] == "/api/health"


def test_api_service_behind_the_alb(stack):
    service = stack.one("aws:ecs/service:Service", "vidpipe-api").inputs
    (group,) = stack.of_type("aws:lb/targetGroup:TargetGroup")
    assert service["launchType"] == "FARGATE"
    assert service["loadBalancers"] == [
        {"targetGroupArn": group.outputs["arn"], "containerName": "api", "containerPort": 8000}
    ]
    assert (
        service["taskDefinition"]
        == stack.one("aws:ecs/taskDefinition:TaskDefinition", "vidpipe-api").outputs["arn"]
    )
    container = stack.container("vidpipe-api")
    assert container["portMappings"] == [{"containerPort": 8000, "protocol": "tcp"}]


def test_http_listener_forwards_without_a_certificate(stack):
    (listener,) = stack.of_type("aws:lb/listener:Listener")
    assert listener.inputs["port"] == 80
    assert listener.inputs["defaultActions"][0]["type"] == "forward"
    assert stack.outputs["albUrl"].startswith("http://")


def test_https_listener_and_redirect_with_a_certificate(tuned_stack):
    listeners = {
        r.inputs["port"]: r.inputs for r in tuned_stack.of_type("aws:lb/listener:Listener")
    }
    assert listeners[443]["protocol"] == "HTTPS" and listeners[443]["certificateArn"].startswith(
        "arn:aws:acm:"
    )
    assert listeners[443]["defaultActions"][0]["type"] == "forward"
    assert listeners[80]["defaultActions"][0]["redirect"]["protocol"] == "HTTPS"
    assert tuned_stack.outputs["albUrl"].startswith("https://")


def test_api_scales_on_cpu_50_between_config_bounds(configured):
    stack, cfg = configured
    (target,) = stack.of_type("aws:appautoscaling/target:Target")
    assert target.inputs["resourceId"] == "service/vidpipe-cluster/vidpipe-api"
    assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (
        cfg["apiMinCount"],
        cfg["apiMaxCount"],
    )
    (policy,) = stack.of_type("aws:appautoscaling/policy:Policy")
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    assert policy.inputs["resourceId"] == target.inputs["resourceId"]
    assert tracking["targetValue"] == 50
    assert (
        tracking["predefinedMetricSpecification"]["predefinedMetricType"]
        == "ECSServiceAverageCPUUtilization"
    )
    assert (
        stack.one("aws:ecs/service:Service", "vidpipe-api").inputs["desiredCount"]
        == cfg["apiMinCount"]
    )


def test_api_and_poller_share_one_image_with_two_commands(stack):
    api, poller = stack.container("vidpipe-api"), stack.container("vidpipe-poller")
    assert api["command"] == ["vidpipe", "api", "--host", "0.0.0.0", "--port", "8000"]
    assert poller["command"] == ["vidpipe", "poller"]
    assert api["image"] == poller["image"] == stack.outputs["apiImage"]
    assert SHARED_ENV <= env(stack, "vidpipe-api").keys()
    assert SHARED_ENV <= env(stack, "vidpipe-poller").keys()
    assert env(stack, "vidpipe-poller")["VIDPIPE_MAX_RUNNING_EXECUTIONS"] == "4"


def test_settings_values_point_at_this_stack(stack):
    values = env(stack, "vidpipe-api")
    queue = {
        n: stack.one("aws:sqs/queue:Queue", f"vidpipe-{n}").outputs["url"]
        for n in ("jobs", "status", "dlq")
    }
    assert values["VIDPIPE_BUCKET"] == stack.outputs["bucket"]
    assert values["VIDPIPE_JOBS_QUEUE_URL"] == queue["jobs"]
    assert values["VIDPIPE_STATUS_QUEUE_URL"] == queue["status"]
    assert values["VIDPIPE_DLQ_URL"] == queue["dlq"]
    assert values["VIDPIPE_STATE_MACHINE_ARN"] == stack.outputs["stateMachineArn"]
    assert values["AWS_DEFAULT_REGION"] == "us-east-1"


def test_transcode_task_definition(configured):
    stack, cfg = configured
    task = stack.one("aws:ecs/taskDefinition:TaskDefinition", "vidpipe-transcode").inputs
    assert (task["cpu"], task["memory"]) == (str(cfg["transcodeCpu"]), str(cfg["transcodeMemory"]))
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    container = stack.container("vidpipe-transcode")
    assert container["name"] == "transcode"
    assert container["command"] == ["python", "-m", "jobs.transcode"]
    assert container["memory"] == cfg["transcodeMemory"]
    assert container["image"] == stack.outputs["jobImage"]
    values = env(stack, "vidpipe-transcode")
    assert values == {
        "VIDPIPE_BUCKET": stack.outputs["bucket"],
        "VIDPIPE_STATUS_QUEUE_URL": stack.outputs["statusQueueUrl"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_transcode_runs_only_from_step_functions(stack):
    transcode = stack.one("aws:ecs/taskDefinition:TaskDefinition", "vidpipe-transcode").outputs
    for service in stack.of_type("aws:ecs/service:Service"):
        assert not service.inputs["taskDefinition"].startswith(transcode["arnWithoutRevision"])
    assert sorted(s.name for s in stack.of_type("aws:ecs/service:Service")) == [
        "vidpipe-api",
        "vidpipe-poller",
    ]


def test_every_container_logs_to_its_group(stack):
    for service in ("api", "poller", "transcode"):
        log = stack.container(f"vidpipe-{service}")["logConfiguration"]
        assert log["logDriver"] == "awslogs"
        assert log["options"]["awslogs-group"] == f"/vidpipe/test/{service}"
        assert log["options"]["awslogs-region"] == "us-east-1"


def test_images_built_from_the_two_dockerfiles_and_tagged_by_source_digest(stack):
    images = {
        Path(i.inputs["dockerfile"]["location"]).name: i.inputs
        for i in stack.of_type("docker-build:index:Image")
    }
    assert images.keys() == {"Dockerfile.api", "Dockerfile.job"}
    for dockerfile, repo in (("Dockerfile.api", "vidpipe-api"), ("Dockerfile.job", "vidpipe-job")):
        image = images[dockerfile]
        url = stack.one("aws:ecr/repository:Repository", repo).outputs["repositoryUrl"]
        assert image["push"] is True
        assert image["context"]["location"] == str(REPO)
        assert image["tags"] == [f"{url}:{source_digest(REPO, REPO / dockerfile)[:32]}"]
        assert image["registries"][0]["address"] == url.split("/")[0]
    # Task definitions pin the pushed content digest, not a tag.
    assert "@sha256:" in stack.outputs["apiImage"] and "@sha256:" in stack.outputs["jobImage"]


def test_source_digest_changes_with_the_source(tmp_path):
    (tmp_path / "Dockerfile.api").write_text("FROM python:3.11-slim\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / ".dockerignore").write_text("data/\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "local.db").write_text("x")
    first = source_digest(tmp_path, tmp_path / "Dockerfile.api")
    (tmp_path / "data" / "local.db").write_text("y")  # ignored by .dockerignore
    assert source_digest(tmp_path, tmp_path / "Dockerfile.api") == first
    (tmp_path / "app.py").write_text("print(2)\n")
    assert source_digest(tmp_path, tmp_path / "Dockerfile.api") != first


def test_cluster_has_container_insights_for_task_counts(stack):
    (cluster,) = stack.of_type("aws:ecs/cluster:Cluster")
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]


def test_services_wait_for_their_role_policies_and_a_steady_state(stack):
    names = [(r.type, r.name) for r in stack.resources]
    for service, roles in (("vidpipe-api", ("api",)), ("vidpipe-poller", ("poller",))):
        inputs = stack.one("aws:ecs/service:Service", service).inputs
        assert inputs["waitForSteadyState"] is True
        # The mock registers resources in dependency order: a service's task and execution
        # policies (and every other policy) are created before it.
        for role in roles:
            for policy in (f"vidpipe-{role}-task-policy", f"vidpipe-{role}-exec-policy"):
                before = names.index(("aws:iam/rolePolicy:RolePolicy", policy))
                assert before < names.index(("aws:ecs/service:Service", service)), policy


def test_http_without_a_certificate_needs_allow_http_explicitly():
    with pytest.raises(Exception, match="certificateArn"):
        run_program({}, base=False)
    with pytest.raises(ValueError, match="allowHttp"):
        dataclasses.replace(StackConfig(allow_http=True), allow_http=False)
    assert StackConfig(certificate_arn="arn:aws:acm:us-east-1:1:certificate/x").allow_http is False


def test_tasks_get_the_event_bus_the_pool_sizes_and_the_poller_the_replies_queue(configured):
    stack, cfg = configured
    (bus,) = stack.of_type("aws:cloudwatch/eventBus:EventBus")
    for task in ("vidpipe-api", "vidpipe-poller"):
        values = env(stack, task)
        assert values["VIDPIPE_EVENT_BUS_NAME"] == bus.outputs["name"] == "vidpipe-test"
        assert values["VIDPIPE_DB_POOL_SIZE"] == str(cfg["dbPoolSize"])
        assert values["VIDPIPE_DB_MAX_OVERFLOW"] == str(cfg["dbMaxOverflow"])
        assert values["VIDPIPE_DB_READ_POOL_SIZE"] == str(cfg["dbReadPoolSize"])
    assert "VIDPIPE_REPLIES_QUEUE_URL" not in env(stack, "vidpipe-api")
