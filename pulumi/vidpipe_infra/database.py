"""RDS PostgreSQL: private, encrypted, reachable only from the API and the poller."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws

import pulumi

from .config import StackConfig, stack_slug
from .network import DB_PORT, Network

DB_NAME = "vidpipe"
DB_USER = "vidpipe"
# Where Dockerfile.api puts the RDS CA bundle (AWS's global trust store).
RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"


@dataclass
class DatabaseArgs:
    """Inputs of `Database`."""

    cfg: StackConfig
    network: Network
    password: pulumi.Input[str]


class Database(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        cfg, network, password = args.cfg, args.network, args.password
        super().__init__("vidpipe:infra:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=network.db_subnet_ids, opts=child
        )
        self.instance = aws.rds.Instance(
            f"{name}-postgres",
            engine="postgres",
            engine_version=cfg.db_engine_version,
            instance_class=cfg.db_instance_class,
            allocated_storage=cfg.db_allocated_storage,
            max_allocated_storage=cfg.db_max_allocated_storage,
            storage_type="gp3",
            storage_encrypted=True,
            multi_az=cfg.db_multi_az,
            backup_retention_period=cfg.db_backup_retention_days,
            db_name=DB_NAME,
            username=DB_USER,
            password=password,
            port=DB_PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[network.db_sg.id],
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            copy_tags_to_snapshot=True,
            deletion_protection=cfg.db_deletion_protection,
            skip_final_snapshot=cfg.db_skip_final_snapshot,
            final_snapshot_identifier=f"vidpipe-{stack_slug()}-final",
            opts=child,
        )
        # No password in the URL: the application merges VIDPIPE_DATABASE_PASSWORD into it.
        # verify-full: TLS, and the server's certificate must be RDS's for this host name.
        self.url = pulumi.Output.concat(
            f"postgresql+psycopg://{DB_USER}@",
            self.instance.address,
            ":",
            self.instance.port.apply(str),
            f"/{DB_NAME}?sslmode=verify-full&sslrootcert={RDS_CA_BUNDLE}",
        )
        self.register_outputs({"address": self.instance.address})
