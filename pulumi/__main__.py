"""vidpipe on AWS: reads the stack config, builds one component per concern, exports the outputs.

Run by `pulumi up` from the repository root (Pulumi.yaml: `main: pulumi/`).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
# `vidpipe_infra` lives next to this file and `statemachines` at the repository root; neither is
# installed. This directory has no __init__.py, so it never shadows the `pulumi` SDK.
for path in (str(HERE), str(REPO_ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

import pulumi_aws as aws  # noqa: E402
from vidpipe_infra import iam  # noqa: E402
from vidpipe_infra.config import StackConfig  # noqa: E402
from vidpipe_infra.database import Database, DatabaseArgs  # noqa: E402
from vidpipe_infra.events import Events, EventsArgs  # noqa: E402
from vidpipe_infra.images import Images, ImagesArgs  # noqa: E402
from vidpipe_infra.network import Network, NetworkArgs  # noqa: E402
from vidpipe_infra.observability import (  # noqa: E402
    LogGroups,
    LogGroupsArgs,
    Monitoring,
    MonitoringArgs,
)
from vidpipe_infra.pipeline import Pipeline, PipelineArgs  # noqa: E402
from vidpipe_infra.queues import Queues, QueuesArgs  # noqa: E402
from vidpipe_infra.secrets import Secrets  # noqa: E402
from vidpipe_infra.services import (  # noqa: E402
    Cluster,
    ClusterArgs,
    Ingress,
    IngressArgs,
    WebServices,
    WebServicesArgs,
)
from vidpipe_infra.storage import Storage, StorageArgs  # noqa: E402

import pulumi  # noqa: E402

NAME = "vidpipe"
cfg = StackConfig.load()
region = aws.get_region_output().region

network = Network(NAME, NetworkArgs(cfg))
storage = Storage(NAME, StorageArgs(cfg))
queues = Queues(NAME, QueuesArgs(cfg))
secrets = Secrets(NAME)
database = Database(NAME, DatabaseArgs(cfg, network, secrets.db_password.result))
images = Images(NAME, ImagesArgs(cfg, REPO_ROOT))
logs = LogGroups(NAME, LogGroupsArgs(cfg))
roles = iam.Roles(NAME)
events = Events(NAME, EventsArgs(cfg))
bucket_name, bucket_arn = storage.bucket.bucket, storage.bucket.arn

compute = Cluster(
    NAME,
    ClusterArgs(
        cfg,
        job_image=images.job_image_ref,
        bucket=bucket_name,
        status_queue_url=queues.status.url,
        log_group=logs.groups["transcode"].name,
        task_role=roles.transcode_task,
        execution_role=roles.transcode_execution,
    ),
)

# The load balancer comes before the state machine: the completion events link to the API.
ingress = Ingress(NAME, IngressArgs(cfg, network))

states_policy = roles.allow_state_machine(
    task_definition_family_arn=compute.transcode.arn_without_revision,
    cluster_arn=compute.cluster.arn,
    status_queue_arn=queues.status.arn,
    dlq_arn=queues.dlq.arn,
    event_bus_arn=events.bus.arn,
)
pipeline = Pipeline(
    NAME,
    PipelineArgs(
        role=roles.state_machine,
        log_group=logs.groups["states"],
        cluster_arn=compute.cluster.arn,
        task_definition_family_arn=compute.transcode.arn_without_revision,
        subnet_ids=network.task_subnet_ids,
        security_group_ids=[network.job_sg.id],
        assign_public_ip=network.assign_public_ip,
        status_queue_url=queues.status.url,
        dlq_url=queues.dlq.url,
        event_bus_name=events.bus_name,
        api_base_url=cfg.api_base_url or ingress.url,
        log_level=cfg.state_machine_log_level,
        log_execution_data=cfg.state_machine_log_execution_data,
        depends_on=[states_policy],
    ),
)

# Task policies need the state machine's ARN; the services wait for them.
task_policies = roles.allow_tasks(
    bucket_arn=bucket_arn,
    jobs_queue_arn=queues.jobs.arn,
    status_queue_arn=queues.status.arn,
    dlq_arn=queues.dlq.arn,
    replies_queue_arn=queues.replies.arn,
    state_machine_arn=pipeline.arn,
    api_repository_arn=images.api_repo.arn,
    job_repository_arn=images.job_repo.arn,
    log_group_arns={service: group.arn for service, group in logs.groups.items()},
    db_password_secret_arn=secrets.db_password_secret.arn,
    jwt_secret_arn=secrets.jwt_secret.arn,
)

# Settings shared by the API and the poller (docs/architecture.md); secrets are added separately.
environment = {
    "VIDPIPE_BUCKET": bucket_name,
    "VIDPIPE_DATABASE_URL": database.url,
    "VIDPIPE_JOBS_QUEUE_URL": queues.jobs.url,
    "VIDPIPE_STATUS_QUEUE_URL": queues.status.url,
    "VIDPIPE_DLQ_URL": queues.dlq.url,
    "VIDPIPE_STATE_MACHINE_ARN": pipeline.arn,
    "VIDPIPE_EVENT_BUS_NAME": events.bus_name,
    "VIDPIPE_DB_POOL_SIZE": str(cfg.db_pool_size),
    "VIDPIPE_DB_MAX_OVERFLOW": str(cfg.db_max_overflow),
    "VIDPIPE_DB_READ_POOL_SIZE": str(cfg.db_read_pool_size),  # used by the API only
    "AWS_DEFAULT_REGION": region,
}
web = WebServices(
    NAME,
    WebServicesArgs(
        cfg,
        network=network,
        ingress=ingress,
        cluster=compute.cluster,
        api_image=images.api_image_ref,
        environment=environment,
        db_password_secret_arn=secrets.db_password_secret.arn,
        jwt_secret_arn=secrets.jwt_secret.arn,
        log_groups=logs.groups,
        roles=roles,
        # The poller answers operators' commands on the replies queue.
        poller_environment={"VIDPIPE_REPLIES_QUEUE_URL": queues.replies.url},
        role_policies=task_policies,
    ),
)
operators = roles.operators(
    state_machine_arn=pipeline.arn,
    status_queue_arn=queues.status.arn,
    replies_queue_arn=queues.replies.arn,
    dlq_arn=queues.dlq.arn,
)

Monitoring(
    NAME,
    MonitoringArgs(
        cfg,
        jobs_queue_name=queues.jobs.name,
        status_queue_name=queues.status.name,
        dlq_name=queues.dlq.name,
        state_machine_arn=pipeline.arn,
        alb_arn_suffix=web.alb.arn_suffix,
        target_group_arn_suffix=web.target_group.arn_suffix,
        cluster_name=compute.cluster.name,
        api_service_name=web.api_service.name,
        poller_service_name=web.poller_service.name,
    ),
)

pulumi.export("albUrl", web.url)
pulumi.export("bucket", bucket_name)
pulumi.export("jobsQueueUrl", queues.jobs.url)
pulumi.export("statusQueueUrl", queues.status.url)
pulumi.export("dlqUrl", queues.dlq.url)
pulumi.export("repliesQueueUrl", queues.replies.url)
pulumi.export("eventBusName", events.bus_name)
pulumi.export("operatorsPolicyArn", operators.arn)
pulumi.export("stateMachineArn", pipeline.arn)
pulumi.export("stateMachineExecutionsUrl", pipeline.console_url)
pulumi.export("region", region)
pulumi.export("clusterName", compute.cluster.name)
pulumi.export("apiImage", images.api_image_ref)
pulumi.export("jobImage", images.job_image_ref)
if events.webhook_token is not None:
    # The value of the webhookAuthHeader header on every delivery (a secret output).
    pulumi.export("webhookToken", events.webhook_token)
