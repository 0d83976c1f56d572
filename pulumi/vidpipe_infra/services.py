"""ECS on Fargate: the cluster, the transcode task definition, the API behind the ALB, the poller.

Container settings use the names of docs/architecture.md. Secrets reach the containers only
through the ECS `secrets` field (valueFrom = Secrets Manager ARN), never as environment values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi_aws as aws

import pulumi
from statemachines import TRANSCODE_COMMAND, TRANSCODE_CONTAINER

from .config import StackConfig, stack_slug
from .iam import Roles
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


@dataclass
class ClusterArgs:
    """Inputs of `Cluster`."""

    cfg: StackConfig
    job_image: pulumi.Input[str]
    bucket: pulumi.Input[str]
    status_queue_url: pulumi.Input[str]
    log_group: pulumi.Input[str]
    task_role: aws.iam.Role
    execution_role: aws.iam.Role


class Cluster(pulumi.ComponentResource):
    """The cluster and the transcode task definition (run only by Step Functions, no service)."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Cluster", name, None, opts)
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            # Container Insights: task counts per cluster and per service for the dashboard.
            settings=[{"name": "containerInsights", "value": "enabled"}],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.transcode_family = f"vidpipe-{stack_slug()}-transcode"
        self.transcode = self._transcode(name, args)
        self.register_outputs({"clusterArn": self.cluster.arn})

    def _transcode(self, name: str, args: ClusterArgs) -> aws.ecs.TaskDefinition:
        region = aws.get_region_output().region
        # Per-run values (video id, keys, task token) come as container overrides from the state
        # machine; only the stack-wide settings live here.
        container = container_definition(
            name=TRANSCODE_CONTAINER,
            image=args.job_image,
            command=list(TRANSCODE_COMMAND),
            memory=args.cfg.transcode_memory,
            log_group=args.log_group,
            region=region,
            environment={
                "VIDPIPE_BUCKET": args.bucket,
                # Where the job sends its progress (video.progress messages).
                "VIDPIPE_STATUS_QUEUE_URL": args.status_queue_url,
                "AWS_DEFAULT_REGION": region,
            },
        )
        return _task_definition(
            f"{name}-transcode",
            self.transcode_family,
            args.cfg.transcode_cpu,
            args.cfg.transcode_memory,
            container,
            args.task_role,
            args.execution_role,
            self,
        )


@dataclass
class IngressArgs:
    """Inputs of `Ingress`: the stack config (certificateArn / allowHttp) and the network."""

    cfg: StackConfig
    network: Network


class Ingress(pulumi.ComponentResource):
    """The ALB, the API's target group and the listeners: HTTPS on 443 with HTTP redirected to it,
    or plain HTTP only when the stack allows it explicitly (StackConfig refuses neither).

    Built before the state machine, whose completion events carry the API's URL.
    """

    def __init__(self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Ingress", name, None, opts)
        self._name = name
        self._args = args
        # These resources were children of WebServices before Ingress existed: the alias keeps
        # a deployed stack's load balancer instead of replacing it.
        moved_from = pulumi.Alias(
            parent=pulumi.create_urn(name, "vidpipe:infra:WebServices")  # type: ignore[arg-type]
        )
        self._child = pulumi.ResourceOptions(parent=self, aliases=[moved_from])
        self.alb, self.target_group = self._load_balancer()
        self.listeners, self.url = self._listeners()
        self.register_outputs({"url": self.url})

    def _load_balancer(self) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup]:
        name, network = self._name, self._args.network
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            security_groups=[network.alb_sg.id],
            subnets=network.public_subnet_ids,
            drop_invalid_header_fields=True,
            opts=self._child,
        )
        target_group = aws.lb.TargetGroup(
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
            opts=self._child,
        )
        return alb, target_group

    def _listener(self, key: str, port: int, protocol: str, actions: list, **extra):
        return aws.lb.Listener(
            f"{self._name}-{key}",
            load_balancer_arn=self.alb.arn,
            port=port,
            protocol=protocol,
            default_actions=actions,
            opts=self._child,
            **extra,
        )

    def _listeners(self) -> tuple[list[aws.lb.Listener], pulumi.Output[str]]:
        """HTTPS on 443 with HTTP redirected to it; plain HTTP only when the stack allows it
        explicitly (StackConfig refuses a stack with neither)."""
        cfg = self._args.cfg
        forward = [{"type": "forward", "target_group_arn": self.target_group.arn}]
        if not cfg.certificate_arn:
            url = pulumi.Output.concat("http://", self.alb.dns_name)
            return [self._listener("http", 80, "HTTP", forward)], url
        redirect = {
            "type": "redirect",
            "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
        }
        return [
            self._listener(
                "https",
                443,
                "HTTPS",
                forward,
                certificate_arn=cfg.certificate_arn,
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
            ),
            self._listener("http", 80, "HTTP", [redirect]),
        ], pulumi.Output.concat("https://", self.alb.dns_name)


@dataclass
class WebServicesArgs:
    """Inputs of `WebServices`."""

    cfg: StackConfig
    network: Network
    ingress: Ingress
    cluster: aws.ecs.Cluster
    api_image: pulumi.Input[str]
    # Settings of the API and the poller (docs/architecture.md); secrets come separately.
    environment: Mapping[str, pulumi.Input[str]]
    db_password_secret_arn: pulumi.Input[str]
    jwt_secret_arn: pulumi.Input[str]
    log_groups: Mapping[str, aws.cloudwatch.LogGroup]
    roles: Roles
    # Settings only the poller gets (e.g. the replies queue).
    poller_environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The role policies the tasks need from their first start (ECR pull, secrets, AWS calls).
    role_policies: Sequence[pulumi.Resource] = ()


class WebServices(pulumi.ComponentResource):
    """The API service behind the ALB (CPU target tracking) and the poller service."""

    def __init__(
        self, name: str, args: WebServicesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("vidpipe:infra:WebServices", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._region = aws.get_region_output().region
        self.alb, self.target_group = args.ingress.alb, args.ingress.target_group
        self.url = args.ingress.url
        self.api_task, self.api_service = self._api(args.ingress.listeners)
        self.api_scaling_policy = self._api_autoscaling()
        self.poller_task, self.poller_service = self._poller()
        self.register_outputs({"url": self.url})

    def _network_configuration(self, security_group: aws.ec2.SecurityGroup) -> dict:
        return {
            "subnets": self._args.network.task_subnet_ids,
            "security_groups": [security_group.id],
            "assign_public_ip": self._args.cfg.tasks_public,
        }

    def _api(self, listeners: list) -> tuple[aws.ecs.TaskDefinition, aws.ecs.Service]:
        name, args, cfg = self._name, self._args, self._args.cfg
        container = container_definition(
            name="api",
            image=args.api_image,
            command=API_COMMAND,
            memory=cfg.api_memory,
            log_group=args.log_groups["api"].name,
            region=self._region,
            environment=args.environment,
            secrets={
                "VIDPIPE_DATABASE_PASSWORD": args.db_password_secret_arn,
                "VIDPIPE_JWT_SECRET": args.jwt_secret_arn,
            },
            port=API_PORT,
        )
        task = _task_definition(
            f"{name}-api",
            f"vidpipe-{stack_slug()}-api",
            cfg.api_cpu,
            cfg.api_memory,
            container,
            args.roles.api_task,
            args.roles.api_execution,
            self,
        )
        service = aws.ecs.Service(
            f"{name}-api",
            cluster=args.cluster.arn,
            task_definition=task.arn,
            launch_type="FARGATE",
            desired_count=cfg.api_min_count,
            network_configuration=self._network_configuration(args.network.api_sg),
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
                depends_on=[*listeners, *args.role_policies],
                ignore_changes=["desiredCount"],
            ),
        )
        return task, service

    def _api_autoscaling(self) -> aws.appautoscaling.Policy:
        name, cfg = self._name, self._args.cfg
        resource_id = pulumi.Output.concat(
            "service/", self._args.cluster.name, "/", self.api_service.name
        )
        target = aws.appautoscaling.Target(
            f"{name}-api-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=cfg.api_min_count,
            max_capacity=cfg.api_max_count,
            opts=self._child,
        )
        return aws.appautoscaling.Policy(
            f"{name}-api-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": CPU_TARGET_PERCENT,
                "predefined_metric_specification": {
                    "predefined_metric_type": "ECSServiceAverageCPUUtilization"
                },
                "scale_in_cooldown": 120,
                "scale_out_cooldown": 60,
            },
            opts=self._child,
        )

    def _poller(self) -> tuple[aws.ecs.TaskDefinition, aws.ecs.Service]:
        name, args, cfg = self._name, self._args, self._args.cfg
        container = container_definition(
            name="poller",
            image=args.api_image,
            command=POLLER_COMMAND,
            memory=cfg.poller_memory,
            log_group=args.log_groups["poller"].name,
            region=self._region,
            environment={
                **args.environment,
                **args.poller_environment,
                "VIDPIPE_MAX_RUNNING_EXECUTIONS": str(cfg.max_running_executions),
            },
            # The poller signs no tokens: it gets the database password only.
            secrets={"VIDPIPE_DATABASE_PASSWORD": args.db_password_secret_arn},
        )
        task = _task_definition(
            f"{name}-poller",
            f"vidpipe-{stack_slug()}-poller",
            cfg.poller_cpu,
            cfg.poller_memory,
            container,
            args.roles.poller_task,
            args.roles.poller_execution,
            self,
        )
        service = aws.ecs.Service(
            f"{name}-poller",
            cluster=args.cluster.arn,
            task_definition=task.arn,
            launch_type="FARGATE",
            desired_count=cfg.poller_count,
            network_configuration=self._network_configuration(args.network.poller_sg),
            deployment_circuit_breaker={"enable": True, "rollback": True},
            propagate_tags="SERVICE",
            wait_for_steady_state=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.role_policies)),
        )
        return task, service
