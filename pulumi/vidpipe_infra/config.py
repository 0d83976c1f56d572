"""Typed stack configuration: every key, its default and its validation in one place.

`Pulumi.dev.yaml.example` documents the same keys with the same defaults; a unit test keeps the
two in step.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import pulumi

# Fargate accepts only these cpu -> memory (MiB) combinations; catching a bad pair here fails
# `pulumi preview` instead of half-way through `pulumi up`.
_FARGATE_MEMORY = {
    256: range(512, 2048 + 1, 512),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}

_PLACEMENTS = ("private", "public")
_LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")

# RDS PostgreSQL's default max_connections is LEAST({DBInstanceClassMemory/9531392}, 5000). Memory
# (GiB) of the instance classes a vidpipe stack would use; the rest is not checked.
DB_CLASS_MEMORY_GIB = {
    **{f"db.{family}.micro": 1 for family in ("t3", "t4g")},
    **{f"db.{family}.small": 2 for family in ("t3", "t4g")},
    **{f"db.{family}.medium": 4 for family in ("t3", "t4g")},
    **{f"db.{family}.large": 8 for family in ("t3", "t4g", "m5", "m6g", "m6i", "m7g", "m7i")},
    **{f"db.{family}.xlarge": 16 for family in ("t3", "t4g", "m5", "m6g", "m6i", "m7g", "m7i")},
    **{f"db.{family}.2xlarge": 32 for family in ("t3", "t4g", "m5", "m6g", "m6i", "m7g", "m7i")},
    **{f"db.{family}.large": 16 for family in ("r5", "r6g", "r6i", "r7g")},
    **{f"db.{family}.xlarge": 32 for family in ("r5", "r6g", "r6i", "r7g")},
}
# Share of that bound the tasks may use: DBInstanceClassMemory is the class memory minus what the
# OS and RDS keep (up to a quarter on the 1 GiB classes), and room must stay for the superuser
# reservation, RDS's own connections, migrations and an operator's psql.
DB_CONNECTION_HEADROOM = 0.6


def max_connections(instance_class: str) -> int | None:
    """RDS PostgreSQL's default max_connections for the class, or None if the class is unknown.

    Computed from the class's full memory, so it is an upper bound (see DB_CONNECTION_HEADROOM).
    """
    gib = DB_CLASS_MEMORY_GIB.get(instance_class)
    return None if gib is None else min(gib * 1024**3 // 9531392, 5000)


# CloudWatch Logs rejects any other retention.
_LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


@dataclass(frozen=True)
class StackConfig:
    """Values read from the stack's `vidpipe:*` config, with the defaults of a small dev stack."""

    # Network
    vpc_cidr: str = "10.0.0.0/16"
    # Where the Fargate tasks run. "private" needs a NAT gateway (created); "public" gives each
    # task a public IP instead (cheaper, still no inbound path: security groups allow none).
    task_subnets: str = "private"
    # Where RDS lives. It is never publicly accessible either way.
    database_subnets: str = "private"
    # ACM certificate for the HTTPS listener (port 80 then redirects to it). Required unless
    # allow_http says explicitly that plain HTTP on port 80 is wanted (passwords and tokens
    # would cross the internet in clear).
    certificate_arn: str = ""
    allow_http: bool = False

    # API service
    api_cpu: int = 256
    api_memory: int = 512
    api_min_count: int = 1
    api_max_count: int = 4
    # Poller service
    poller_cpu: int = 256
    poller_memory: int = 512
    poller_count: int = 1
    max_running_executions: int = 4
    # Transcode task (launched only by Step Functions)
    transcode_cpu: int = 2048
    transcode_memory: int = 4096

    # Database
    db_instance_class: str = "db.t4g.micro"
    db_engine_version: str = "16"
    db_allocated_storage: int = 20
    db_max_allocated_storage: int = 100
    db_multi_az: bool = False
    db_backup_retention_days: int = 7
    db_deletion_protection: bool = True
    db_skip_final_snapshot: bool = False
    # PostgreSQL connections per API/poller process (VIDPIPE_DB_POOL_SIZE / _MAX_OVERFLOW), plus
    # the API's event-loop read pool (VIDPIPE_DB_READ_POOL_SIZE): every task at its maximum count
    # must fit the instance's max_connections. Below the app's local defaults (5 + 5): in the
    # cloud the thread-pool engines serve only sign-ins, uploads, votes, cache misses and the
    # poller, and the defaults must fit a db.t4g.micro.
    db_pool_size: int = 4
    db_max_overflow: int = 2
    db_read_pool_size: int = 8

    # Queues
    jobs_max_receive_count: int = 5
    jobs_visibility_timeout_seconds: int = 120
    status_visibility_timeout_seconds: int = 60

    # Observability
    log_retention_days: int = 30
    # Step Functions logging: ERROR without execution data keeps task tokens and payloads out of
    # CloudWatch; ALL with execution data shows every state's input and output (debugging).
    state_machine_log_level: str = "ERROR"
    state_machine_log_execution_data: bool = False
    jobs_oldest_message_alarm_seconds: int = 900
    api_5xx_alarm_threshold: int = 5
    alarm_email: str = ""

    # Completion events: an HTTPS endpoint that receives every `Video Processed` / `Video Failed`
    # event (EventBridge API destination); empty: events stay on the bus. The request carries
    # the header below with a generated token (stack output `webhookToken`).
    webhook_url: str = ""
    webhook_auth_header: str = "X-Vidpipe-Webhook-Token"
    # The API's public origin in the events' links (your DNS name for the ALB, e.g.
    # https://videos.example.com); empty: the ALB's own URL.
    api_base_url: str = ""

    # Teardown convenience: allow `pulumi destroy` to delete non-empty buckets / repositories.
    bucket_force_destroy: bool = False
    ecr_force_delete: bool = False

    def __post_init__(self) -> None:
        for key in ("task_subnets", "database_subnets"):
            if getattr(self, key) not in _PLACEMENTS:
                raise ValueError(f"{config_key(key)} must be one of {_PLACEMENTS}")
        for prefix in ("api", "poller", "transcode"):
            cpu, memory = getattr(self, f"{prefix}_cpu"), getattr(self, f"{prefix}_memory")
            if memory not in _FARGATE_MEMORY.get(cpu, ()):
                raise ValueError(f"{prefix}Cpu={cpu}/{prefix}Memory={memory} is not a Fargate size")
        if not 1 <= self.api_min_count <= self.api_max_count:
            raise ValueError("need 1 <= apiMinCount <= apiMaxCount")
        if self.log_retention_days not in _LOG_RETENTION_DAYS:
            raise ValueError(f"logRetentionDays must be one of {_LOG_RETENTION_DAYS}")
        if self.jobs_max_receive_count < 1:
            raise ValueError("jobsMaxReceiveCount must be >= 1")
        if not self.certificate_arn and not self.allow_http:
            raise ValueError(
                "certificateArn is not set: the API would serve passwords and tokens over plain "
                "HTTP. Set vidpipe:certificateArn to an ACM certificate of this region, or set "
                "vidpipe:allowHttp true to accept HTTP explicitly."
            )
        if self.state_machine_log_level not in _LOG_LEVELS:
            raise ValueError(f"stateMachineLogLevel must be one of {_LOG_LEVELS}")
        if self.webhook_url and not self.webhook_url.startswith("https://"):
            raise ValueError("webhookUrl must be an https:// URL (EventBridge API destinations)")
        if self.api_base_url and (
            not self.api_base_url.startswith(("https://", "http://"))
            or any(c in self.api_base_url for c in "{}'\\")
        ):
            raise ValueError(
                "apiBaseUrl must be a plain http(s) URL such as https://videos.example.com"
            )
        if self.db_pool_size < 1 or self.db_max_overflow < 0:
            raise ValueError("need dbPoolSize >= 1 and dbMaxOverflow >= 0")
        if self.db_read_pool_size < 1:
            raise ValueError("need dbReadPoolSize >= 1")
        limit = max_connections(self.db_instance_class)
        if limit is not None and self.peak_db_connections > limit * DB_CONNECTION_HEADROOM:
            raise ValueError(
                f"apiMaxCount x (dbPoolSize + dbMaxOverflow + dbReadPoolSize) + pollerCount x "
                f"(dbPoolSize + dbMaxOverflow) = "
                f"{self.peak_db_connections} connections do not fit {self.db_instance_class} "
                f"(max_connections {limit}, {DB_CONNECTION_HEADROOM:.0%} usable): lower them or "
                "choose a larger dbInstanceClass"
            )

    @property
    def peak_db_connections(self) -> int:
        """Connections when every API and poller task runs with its pool full."""
        threads = self.db_pool_size + self.db_max_overflow
        return self.api_max_count * (threads + self.db_read_pool_size) + self.poller_count * threads

    @property
    def tasks_public(self) -> bool:
        return self.task_subnets == "public"

    @property
    def assign_public_ip(self) -> str:
        # Fargate tasks in a public subnet need a public IP to reach ECR, S3 and the AWS APIs.
        return "ENABLED" if self.tasks_public else "DISABLED"

    @classmethod
    def load(cls, cfg: pulumi.Config | None = None) -> StackConfig:
        cfg = cfg or pulumi.Config("vidpipe")
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            key = config_key(field.name)
            if isinstance(field.default, bool):
                value = cfg.get_bool(key)
            elif isinstance(field.default, int):
                value = cfg.get_int(key)
            else:
                value = cfg.get(key)
            if value is not None:
                values[field.name] = value
        return cls(**values)


def config_key(field_name: str) -> str:
    """`db_multi_az` -> `dbMultiAz`: the stack config spells keys in camelCase."""
    head, *rest = field_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def defaults() -> dict[str, Any]:
    """Every config key with its default, as `Pulumi.dev.yaml.example` must document it."""
    return {config_key(f.name): f.default for f in dataclasses.fields(StackConfig)}


def stack_slug() -> str:
    """The stack name reduced to letters, digits and hyphens, valid in every AWS name we build."""
    return re.sub(r"[^A-Za-z0-9-]", "-", pulumi.get_stack())
