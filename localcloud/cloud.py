"""The local cloud: an embedded moto server holding vidpipe's AWS resources, plus the workers that
run beside the API (the local Fargate runner and the poller). `local_cloud()` is its one lifecycle.

Moto keeps everything in memory, so the resources are created anew on every start; the database
is the source of truth that survives restarts (`start_workers` re-drives what a restart left
unfinished), and `localcloud.persist` keeps the bucket and the DLQ under the data directory.

Resources: the media bucket; the jobs queue (redrive to the DLQ), the status queue and the DLQ;
an ECS cluster and the transcode task definition (`python -m jobs.transcode`, container
`transcode`); the video pipeline state machine rendered from statemachines/video_pipeline.asl.json
with the same placeholders Pulumi fills in. Step Functions executes it (moto's interpreter, with
the in-process fixes of `localcloud.ecs_shim`), the poller answers it, and `LocalFargateRunner`
runs the ECS tasks it starts.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from sqlalchemy import Engine
from werkzeug.serving import make_server

from localcloud import auth, ecs_shim, secrets
from localcloud import events as local_events
from localcloud.persist import BucketMirror, Mirrors, QueueMirror
from localcloud.runner import LocalFargateRunner
from poller import sweeper
from poller.service import PollerService
from statemachines import (
    TRANSCODE_COMMAND,
    TRANSCODE_CONTAINER,
    definition_values,
    render_definition,
)
from vidpipe import aws, executions, videos
from vidpipe.contracts import execution_name
from vidpipe.db.migrate import upgrade_to_head
from vidpipe.db.session import make_engine, session_factory
from vidpipe.settings import Settings, get_settings

log = logging.getLogger(__name__)

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = (
    "123456789012"  # moto's default account, the one its Step Functions interpreter uses
)
# The stack's credentials (random per data directory): the only ones the local AWS accepts.
CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

CLUSTER_NAME = "vidpipe"
TRANSCODE_FAMILY = "vidpipe-transcode"
STATE_MACHINE_NAME = "vidpipe-pipeline"
EVENT_BUS_NAME = "vidpipe-local"
# The job's processing policy (docs/architecture.md).
TASK_POLICY_ENV = (
    "VIDPIPE_HEARTBEAT_SECONDS",
    "VIDPIPE_MAX_CLIP_SECONDS",
    "VIDPIPE_MIN_DURATION_SECONDS",
    "VIDPIPE_MAX_DURATION_SECONDS",
    "VIDPIPE_MIN_HEIGHT",
    "VIDPIPE_BUMPER_SECONDS",
    "VIDPIPE_LOGO_PATH",
    "VIDPIPE_X264_PRESET",
    "VIDPIPE_X264_CRF",
)

# One moto server per process: its backends are process-global.
_server_lock = threading.Lock()


def enable_step_functions_execution() -> dict | None:
    """Moto only runs state machines with this config, set before any state machine exists.
    Returns the previous value (restored by `stop`)."""
    from moto.core.config import default_user_config

    previous = default_user_config.get("stepfunctions")
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    return previous


class GuardedMotoServer(ThreadedMotoServer):
    """moto's threaded server, behind `auth.SigV4Guard` (requests signed with the stack's
    credentials only)."""

    def __init__(self, credentials: auth.StackCredentials, **kwargs):
        super().__init__(**kwargs)
        self._credentials = credentials

    def _server_entry(self) -> None:  # ThreadedMotoServer's, with the guard around the app
        app = auth.SigV4Guard(DomainDispatcherApplication(create_backend_app), self._credentials)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class LocalCloud:
    """The embedded AWS for one `vidpipe up`: its own port, so several run side by side (in
    separate processes: moto's state is global to a process). Use it through `local_cloud()`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8001,
        data_dir: Path = Path("data"),
        max_receive_count: int = 5,
        *,
        task_command: Sequence[str] = TRANSCODE_COMMAND,
        task_environment: dict[str, str] | None = None,
        definition_transform: Callable[[dict], dict] | None = None,
        runner_concurrency: int | None = None,
        runner_poll_seconds: float = 0.1,
        poller: bool = True,
        persist: bool = True,
        poller_wait_seconds: int = 20,
        sweep_interval_seconds: float = 60.0,
        jobs_visibility_timeout: int = 60,
        status_visibility_timeout: int = 30,
        api_base_url: str = "http://127.0.0.1:8000",
        webhook_url: str | None = None,
        stop_seconds: float = 1.5,
        task_stop_grace_seconds: float = 1.5,
    ):
        self.host = host
        self.port = port
        self.data_dir = Path(data_dir)
        self.max_receive_count = max_receive_count
        self.task_command = list(task_command)
        # Extra task-definition environment (e.g. a lowered processing policy for tests).
        # The processing policy set in this process's environment is passed on, like an operator
        # setting it on the task definition (e.g. VIDPIPE_MIN_DURATION_SECONDS=1 for tiny clips).
        self.task_environment = {k: v for k, v in os.environ.items() if k in TASK_POLICY_ENV}
        self.task_environment.update(task_environment or {})
        # Tests shorten HeartbeatSeconds/TimeoutSeconds/IntervalSeconds on the parsed definition.
        self.definition_transform = definition_transform
        self.runner_concurrency = runner_concurrency or os.cpu_count() or 1
        self.runner_poll_seconds = runner_poll_seconds
        self.with_poller = poller
        self.persist = persist
        self.poller_wait_seconds = poller_wait_seconds
        self.sweep_interval_seconds = sweep_interval_seconds
        self.jobs_visibility_timeout = jobs_visibility_timeout
        self.status_visibility_timeout = status_visibility_timeout
        # Completion events: the API origin they link to, and where to deliver them (else the
        # VIDPIPE_WEBHOOK_URL setting; neither: they stay on the local bus).
        self.api_base_url = api_base_url
        self.webhook_url = webhook_url
        self.forwarder: local_events.WebhookForwarder | None = None
        self.stop_seconds = stop_seconds
        self.task_stop_grace_seconds = task_stop_grace_seconds
        self._server: GuardedMotoServer | None = None
        self._undo_interpreter_credentials: Callable[[], None] | None = None
        self._holds_lock = False
        self._previous_sfn_config: dict | None = None
        self._engine: Engine | None = None
        self.env: dict[str, str] = {}
        self.network: dict[str, list[str]] = {}
        self.cluster_arn = ""
        self.task_definition_arn = ""
        self.runner: LocalFargateRunner | None = None
        self.poller: PollerService | None = None
        self.mirror: Mirrors | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> dict[str, str]:
        """Start moto, point this process's boto3 at it, create resources; return the settings
        env."""
        if not _server_lock.acquire(blocking=False):
            raise RuntimeError("a local cloud is already running in this process")
        self._holds_lock = True
        self.quiet_logs()
        try:
            # Moto's Step Functions interpreter calls ECS and SQS at http://localhost:$MOTO_PORT.
            os.environ["MOTO_PORT"] = str(self.port)
            self._previous_sfn_config = enable_step_functions_execution()
            ecs_shim.install()
            credentials = auth.load_or_create(self.data_dir)
            self._undo_interpreter_credentials = auth.sign_interpreter_with(credentials)
            self._server = GuardedMotoServer(
                credentials, ip_address=self.host, port=self.port, verbose=False
            )
            self._server.start()
            self._reset_moto()
            self.env = {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                **credentials.env(),
                "VIDPIPE_BUCKET": "vidpipe-media",
            }
            os.environ.update(self.env)
            aws.reset_clients()
            self._create_resources()
            os.environ.update(self.env)
        except BaseException:
            self.stop()
            raise
        log.info("local AWS (moto) on %s", self.endpoint_url)
        return dict(self.env)

    @staticmethod
    def quiet_logs() -> None:
        """The moto server logs every request (the runner and the poller poll it) and its
        Step Functions interpreter logs every expected state failure as an error with the whole
        state dumped; the execution history has all of it."""
        for name in ("werkzeug", "botocore", "moto.stepfunctions.parser"):
            logging.getLogger(name).setLevel(
                logging.CRITICAL if name.startswith("moto") else logging.WARNING
            )

    @staticmethod
    def _reset_moto() -> None:
        """Start from empty backends (a previous stack in this process, e.g. in tests) and keep
        ECS tasks RUNNING until the runner stops them (moto otherwise advances a task toward
        STOPPED on every DescribeTasks)."""
        from moto.moto_api import state_manager
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        state_manager.set_transition(
            model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
        )

    def _create_resources(self) -> None:
        aws.client("s3").create_bucket(Bucket=self.env["VIDPIPE_BUCKET"])
        sqs = aws.client("sqs")
        dlq_url = sqs.create_queue(QueueName="vidpipe-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        jobs_url = sqs.create_queue(
            QueueName="vidpipe-jobs",
            Attributes={
                "VisibilityTimeout": str(self.jobs_visibility_timeout),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(self.max_receive_count)}
                ),
            },
        )["QueueUrl"]
        status_url = sqs.create_queue(
            QueueName="vidpipe-status",
            Attributes={"VisibilityTimeout": str(self.status_visibility_timeout)},
        )["QueueUrl"]
        replies_url = sqs.create_queue(
            QueueName="vidpipe-replies",
            # Answers to operators' commands matter for a minute; leftovers are dropped.
            Attributes={"MessageRetentionPeriod": "300"},
        )["QueueUrl"]
        self.env.update(
            VIDPIPE_JOBS_QUEUE_URL=jobs_url,
            VIDPIPE_STATUS_QUEUE_URL=status_url,
            VIDPIPE_DLQ_URL=dlq_url,
            VIDPIPE_REPLIES_QUEUE_URL=replies_url,
        )
        local_events.create_bus(EVENT_BUS_NAME)
        self.env["VIDPIPE_EVENT_BUS_NAME"] = EVENT_BUS_NAME
        network = self.network = self._create_network()
        self._create_ecs()
        self.env["VIDPIPE_STATE_MACHINE_ARN"] = self._create_state_machine(
            status_url=status_url, dlq_url=dlq_url, **network
        )

    @staticmethod
    def _create_network() -> dict:
        """A Fargate task (awsvpc) needs a subnet and a security group, even in moto."""
        ec2 = aws.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        # Moto's RunTask names the task's network interface after its DNS name (500 without).
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(
            GroupName="vidpipe-transcode", Description="transcode tasks", VpcId=vpc
        )["GroupId"]
        return {"subnet_ids": [subnet], "security_group_ids": [group]}

    def _create_ecs(self) -> None:
        ecs = aws.client("ecs")
        self.cluster_arn = ecs.create_cluster(clusterName=CLUSTER_NAME)["cluster"]["clusterArn"]
        environment = {
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "VIDPIPE_BUCKET": self.env["VIDPIPE_BUCKET"],
            **self.task_environment,
        }
        self.task_definition_arn = ecs.register_task_definition(
            family=TRANSCODE_FAMILY,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="1024",
            memory="2048",
            containerDefinitions=[
                {
                    "name": TRANSCODE_CONTAINER,
                    "image": "vidpipe-job:local",
                    "essential": True,
                    # moto's RunTask answers 500 for a Fargate container without `memory`.
                    "memory": 2048,
                    "command": self.task_command,
                    "environment": [
                        {"name": k, "value": v} for k, v in sorted(environment.items())
                    ],
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]

    def _create_state_machine(self, *, subnet_ids, security_group_ids, status_url, dlq_url) -> str:
        definition = json.loads(
            render_definition(
                definition_values(
                    cluster_arn=self.cluster_arn,
                    task_definition_arn=self.task_definition_arn,
                    subnet_ids=subnet_ids,
                    security_group_ids=security_group_ids,
                    assign_public_ip="DISABLED",
                    status_queue_url=status_url,
                    dlq_url=dlq_url,
                    event_bus_name=EVENT_BUS_NAME,
                    api_base_url=self.api_base_url,
                )
            )
        )
        if self.definition_transform is not None:
            definition = self.definition_transform(definition)
        return aws.client("stepfunctions").create_state_machine(
            name=STATE_MACHINE_NAME,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{LOCAL_ACCOUNT}:role/vidpipe-pipeline",
            type="STANDARD",
        )["stateMachineArn"]

    def task_local_env(self) -> dict[str, str]:
        """What a task needs to reach the local AWS (in Fargate: the task role and the region)."""
        return {k: self.env[k] for k in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", *CREDENTIAL_ENV)}

    def write_env_file(self, settings) -> Path:
        """DATA_DIR/local.env: what the operator commands need to reach this stack
        (`vidpipe history --env-file data/local.env ...`, or `set -a; . data/local.env`)."""
        path = self.data_dir / "local.env"
        values = {**self.env, "VIDPIPE_DATABASE_URL": settings.database_url}
        text = "".join(f"{k}={v}\n" for k, v in sorted(values.items()))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the secret
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)  # also when it existed before with wider permissions
        return path

    def start_workers(self, settings, *, redrive: bool = True) -> None:
        """Start what runs beside the API: the Fargate runner and the poller, after re-driving
        what the previous run left unfinished (moto lost its queues and executions; the
        database did not)."""
        if self.persist:
            self.mirror = Mirrors(
                [
                    BucketMirror(
                        self.env["VIDPIPE_BUCKET"], self.data_dir / "s3", account=LOCAL_ACCOUNT
                    ),
                    QueueMirror(
                        self.env["VIDPIPE_DLQ_URL"],
                        self.data_dir / "sqs",
                        account=LOCAL_ACCOUNT,
                        region=LOCAL_REGION,
                    ),
                ]
            )
            restored = self.mirror.restore()
            if any(restored.values()):
                log.info("restored into the local cloud: %s", restored)
            self.mirror.start()
        self._engine = make_engine(settings.sqlalchemy_url)
        sessions = session_factory(self._engine)
        if redrive:
            with sessions() as session:
                videos.resend_unqueued(session, settings, older_than=0)
                count = sweeper.redrive_unfinished(session, settings)
                if count:
                    log.info("re-driven %d unfinished video(s) with a new attempt", count)
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.write_env_file(settings)
        self.runner = LocalFargateRunner(
            cluster=self.cluster_arn,
            logs_dir=self.data_dir / "logs",
            local_env=self.task_local_env(),
            concurrency=self.runner_concurrency,
            poll_seconds=self.runner_poll_seconds,
            stop_grace_seconds=self.task_stop_grace_seconds,
            tasks_hint=self._ecs_task_count,
            execution_of=lambda env: executions.execution_arn(
                execution_name(env.get("VIDPIPE_VIDEO_ID", ""), int(env.get("VIDPIPE_ATTEMPT", 0))),
                settings,
            ),
        )
        self.runner.start()
        webhook_url = self.webhook_url or settings.webhook_url
        if webhook_url:
            self.forwarder = local_events.WebhookForwarder(
                local_events.route_to_queue(EVENT_BUS_NAME), webhook_url
            )
            self.forwarder.start()
        if self.with_poller:
            self.poller = PollerService(
                settings,
                sessions,
                wait_seconds=self.poller_wait_seconds,
                sweep_interval_seconds=self.sweep_interval_seconds,
            )
            self.poller.start()

    @staticmethod
    def _ecs_task_count() -> int:
        """How many tasks moto's ECS holds for the cluster (never fewer: stopped ones stay), read
        in this process at no cost: the runner lists the cluster only when this moves."""
        from moto.ecs.models import ecs_backends

        return len(ecs_backends[LOCAL_ACCOUNT][LOCAL_REGION].tasks.get(CLUSTER_NAME, {}))

    def stop(self) -> None:
        """Stop everything within about `stop_seconds` (SIGTERM to `vidpipe up` must end it
        promptly): every worker is told at once; the poller then gets a bounded drain (a long poll
        in flight is not waited for: an unacknowledged message comes back, handling is
        idempotent); running tasks get `task_stop_grace_seconds` before SIGKILL (a restart
        re-drives their videos anyway)."""
        deadline = time.monotonic() + self.stop_seconds
        if self.forwarder is not None:
            self.forwarder.stop()
            self.forwarder = None
        if self.poller is not None:
            self.poller.stopping.set()
        if self.runner is not None:
            self.runner.signal_stop()
        if self.poller is not None:
            self.poller.stop(timeout=max(0.1, deadline - time.monotonic()))
            self.poller = None
        if self.runner is not None:
            self.runner.stop(timeout=max(0.1, deadline - time.monotonic()))
            self.runner = None
        if self.mirror is not None:
            self.mirror.stop()
            self.mirror = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._undo_interpreter_credentials is not None:
            self._undo_interpreter_credentials()
            self._undo_interpreter_credentials = None
        if self._holds_lock:
            from moto.core.config import default_user_config
            from moto.moto_api import state_manager

            try:
                state_manager.unset_transition("ecs::task")
            except KeyError:
                pass
            previous = self._previous_sfn_config
            if previous is None:
                default_user_config.pop("stepfunctions", None)
            else:
                default_user_config["stepfunctions"] = previous
            self._holds_lock = False
            _server_lock.release()


@contextmanager
def local_cloud(
    *,
    database_url: str,
    settings_env: dict[str, str] | None = None,
    with_workers: bool = True,
    redrive: bool = True,
    **options,
) -> Iterator[tuple[LocalCloud, Settings]]:
    """Start the local cloud, point this process's settings at it (plus `settings_env`), migrate
    the database, start the workers; yield the cloud and the settings; stop everything on exit.
    `options` are LocalCloud's (port, data_dir, task_command, ...)."""
    cloud = LocalCloud(**options)
    try:
        cloud.start()
        os.environ["VIDPIPE_DATABASE_URL"] = database_url
        if not os.environ.get("VIDPIPE_JWT_SECRET"):
            os.environ["VIDPIPE_JWT_SECRET"] = secrets.jwt_secret(cloud.data_dir)
        os.environ.update(settings_env or {})
        get_settings.cache_clear()
        aws.reset_clients()
        settings = get_settings()
        upgrade_to_head(settings.sqlalchemy_url)
        if with_workers:
            cloud.start_workers(settings, redrive=redrive)
        yield cloud, settings
    finally:
        cloud.stop()
