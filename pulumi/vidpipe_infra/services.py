"""ECS on Fargate: the cluster, the transcode task definition, the API behind the ALB, the poller.

Container settings use the names of docs/architecture.md. Secrets reach the containers only
through the ECS `secrets` field (valueFrom = Secrets Manager ARN), never as environment values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi_aws as aws

import pulumi
from statemachines import TRANSCODE_COMMAND, TRANSCODE_CONTAINER

from .config import StackConfig, stack_slug
from .network import API_PORT, Network

API_COMMAND = ["vidpipe", "api", "--host", "0.0.0.0", "--port", str(API_PORT)]
POLLER_COMMAND = ["vidpipe", "poller"]
HEALTH_PATH = "/api/health"
CPU_TARGET_PERCENT = 50


def container_definition(
    *,
    name: str,
    image: pulumi.Input[str],
    command: Sequence[str],
    memory: int,
    log_group: pulumi.Input[str],
    region: pulumi.Input[str],
    environment: Mapping[str, pulumi.Input[str]],
    secrets: Mapping[str, pulumi.Input[str]] | None = None,
    port: int | None = None,
) -> dict:
    definition = {
        "name": name,
        "image": image,
        "essential": True,
        "command": list(command),
        # Hard limit = the task's memory: the container may use all of it, and an OOM is reported
        # against the container instead of stopping the task without a reason.
        "memory": memory,
        # Sorted so that the rendered JSON (and the diff) is stable.
        "environment": [{"name": k, "value": environment[k]} for k in sorted(environment)],
        "secrets": [{"name": k, "valueFrom": (secrets or {})[k]} for k in sorted(secrets or {})],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": name,
            },
        },
    }
    if port is not None:
        definition["portMappings"] = [{"containerPort": port, "protocol": "tcp"}]
    return definition


def _task_definition(
    resource_name: str,
    family: str,
    cpu: int,
    memory: int,
    container: dict,
    task_role: aws.iam.Role,
    execution_role: aws.iam.Role,
    parent: pulumi.Resource,
) -> aws.ecs.TaskDefinition:
    return aws.ecs.TaskDefinition(
        resource_name,
        family=family,
        cpu=str(cpu),
        memory=str(memory),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
        task_role_arn=task_role.arn,
        execution_role_arn=execution_role.arn,
        container_definitions=pulumi.Output.json_dumps([container]),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class Cluster(pulumi.ComponentResource):
    """The cluster and the transcode task definition (run only by Step Functions, no service)."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        *,
        job_image: pulumi.Input[str],
        bucket: pulumi.Input[str],
        log_group: pulumi.Input[str],
        task_role: aws.iam.Role,
        execution_role: aws.iam.Role,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("vidpipe:infra:Cluster", name, None, opts)
        region = aws.get_region_output().region
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            # Container Insights: task counts per service and per family for the dashboard.
            settings=[{"name": "containerInsights", "value": "enabled"}],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.transcode_family = f"vidpipe-{stack_slug()}-transcode"
        # Per-run values (video id, keys, task token) come as container overrides from the state
        # machine; only the stack-wide settings live here.
        container = container_definition(
            name=TRANSCODE_CONTAINER,
            image=job_image,
            command=list(TRANSCODE_COMMAND),
            memory=cfg.transcode_memory,
            log_group=log_group,
            region=region,
            environment={"VIDPIPE_BUCKET": bucket, "AWS_DEFAULT_REGION": region},
        )
        self.transcode = _task_definition(
            f"{name}-transcode",
            self.transcode_family,
            cfg.transcode_cpu,
            cfg.transcode_memory,
            container,
            task_role,
            execution_role,
            self,
        )
        self.register_outputs({"clusterArn": self.cluster.arn})


class WebServices(pulumi.ComponentResource):
    """The API service behind the ALB (CPU target tracking) and the poller service."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        *,
        network: Network,
        cluster: aws.ecs.Cluster,
        api_image: pulumi.Input[str],
        environment: Mapping[str, pulumi.Input[str]],
        db_password_secret_arn: pulumi.Input[str],
        jwt_secret_arn: pulumi.Input[str],
        log_groups: Mapping[str, aws.cloudwatch.LogGroup],
        roles,
        poller_environment: Mapping[str, pulumi.Input[str]] | None = None,
        role_policies: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("vidpipe:infra:WebServices", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output().region

        # --- load balancer -----------------------------------------------------------------------
        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            security_groups=[network.alb_sg.id],
            subnets=network.public_subnet_ids,
            drop_invalid_header_fields=True,
            opts=child,
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-api",
            port=API_PORT,
            protocol="HTTP",
            # Fargate tasks (awsvpc) register by IP.
            target_type="ip",
            vpc_id=network.vpc.id,
            deregistration_delay=30,
            health_check={
                "path": HEALTH_PATH,
                "matcher": "200",
                "interval": 15,
                "healthy_threshold": 2,
                "unhealthy_threshold": 3,
            },
            opts=child,
        )
        forward = [{"type": "forward", "target_group_arn": self.target_group.arn}]
        if cfg.certificate_arn:
            https = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=self.alb.arn,
                port=443,
                protocol="HTTPS",
                certificate_arn=cfg.certificate_arn,
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                default_actions=forward,
                opts=child,
            )
            http = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=self.alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    {
                        "type": "redirect",
                        "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
                    }
                ],
                opts=child,
            )
            listeners = [https, http]
            self.url = pulumi.Output.concat("https://", self.alb.dns_name)
        else:
            listeners = [
                aws.lb.Listener(
                    f"{name}-http",
                    load_balancer_arn=self.alb.arn,
                    port=80,
                    protocol="HTTP",
                    default_actions=forward,
                    opts=child,
                )
            ]
            self.url = pulumi.Output.concat("http://", self.alb.dns_name)

        network_configuration = {
            "subnets": network.task_subnet_ids,
            "security_groups": [],
            "assign_public_ip": cfg.tasks_public,
        }

        # --- API ----------------------------------------------------------------------------------
        api_container = container_definition(
            name="api",
            image=api_image,
            command=API_COMMAND,
            memory=cfg.api_memory,
            log_group=log_groups["api"].name,
            region=region,
            environment=environment,
            secrets={
                "VIDPIPE_DATABASE_PASSWORD": db_password_secret_arn,
                "VIDPIPE_JWT_SECRET": jwt_secret_arn,
            },
            port=API_PORT,
        )
        self.api_task = _task_definition(
            f"{name}-api",
            f"vidpipe-{stack_slug()}-api",
            cfg.api_cpu,
            cfg.api_memory,
            api_container,
            roles.api_task,
            roles.api_execution,
            self,
        )
        self.api_service = aws.ecs.Service(
            f"{name}-api",
            cluster=cluster.arn,
            task_definition=self.api_task.arn,
            launch_type="FARGATE",
            desired_count=cfg.api_min_count,
            network_configuration={**network_configuration, "security_groups": [network.api_sg.id]},
            load_balancers=[
                {
                    "target_group_arn": self.target_group.arn,
                    "container_name": "api",
                    "container_port": API_PORT,
                }
            ],
            # Migrations and the first DB connection can take a while on a cold start.
            health_check_grace_period_seconds=60,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            propagate_tags="SERVICE",
            # `pulumi up` returns once the tasks run and pass health checks (the circuit breaker
            # rolls a failing deployment back and fails the update).
            wait_for_steady_state=True,
            # The autoscaler owns the task count after creation. The role policies must exist
            # before a task starts (ECR pull, secrets, AWS calls).
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*listeners, *role_policies],
                ignore_changes=["desiredCount"],
            ),
        )
        resource_id = pulumi.Output.concat("service/", cluster.name, "/", self.api_service.name)
        scaling_target = aws.appautoscaling.Target(
            f"{name}-api-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=cfg.api_min_count,
            max_capacity=cfg.api_max_count,
            opts=child,
        )
        self.api_scaling_policy = aws.appautoscaling.Policy(
            f"{name}-api-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=scaling_target.service_namespace,
            scalable_dimension=scaling_target.scalable_dimension,
            resource_id=scaling_target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": CPU_TARGET_PERCENT,
                "predefined_metric_specification": {
                    "predefined_metric_type": "ECSServiceAverageCPUUtilization"
                },
                "scale_in_cooldown": 120,
                "scale_out_cooldown": 60,
            },
            opts=child,
        )

        # --- poller -------------------------------------------------------------------------------
        poller_container = container_definition(
            name="poller",
            image=api_image,
            command=POLLER_COMMAND,
            memory=cfg.poller_memory,
            log_group=log_groups["poller"].name,
            region=region,
            environment={
                **environment,
                **(poller_environment or {}),
                "VIDPIPE_MAX_RUNNING_EXECUTIONS": str(cfg.max_running_executions),
            },
            # The poller signs no tokens: it gets the database password only.
            secrets={"VIDPIPE_DATABASE_PASSWORD": db_password_secret_arn},
        )
        self.poller_task = _task_definition(
            f"{name}-poller",
            f"vidpipe-{stack_slug()}-poller",
            cfg.poller_cpu,
            cfg.poller_memory,
            poller_container,
            roles.poller_task,
            roles.poller_execution,
            self,
        )
        self.poller_service = aws.ecs.Service(
            f"{name}-poller",
            cluster=cluster.arn,
            task_definition=self.poller_task.arn,
            launch_type="FARGATE",
            desired_count=cfg.poller_count,
            network_configuration={
                **network_configuration,
                "security_groups": [network.poller_sg.id],
            },
            deployment_circuit_breaker={"enable": True, "rollback": True},
            propagate_tags="SERVICE",
            wait_for_steady_state=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(role_policies)),
        )
        self.register_outputs({"url": self.url})
