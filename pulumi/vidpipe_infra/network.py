"""VPC across two availability zones and the security groups between the tiers.

Traffic allowed, and nothing else:
  internet -> ALB 80/443;  ALB -> API 8000;  API, poller -> PostgreSQL 5432;
  API, poller, transcode -> 443 outbound (AWS APIs, ECR; through the NAT gateway when private).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi_aws as aws

import pulumi

from .config import StackConfig

API_PORT = 8000
DB_PORT = 5432
HTTPS_ANYWHERE = "0.0.0.0/0"
AZ_COUNT = 2


@dataclass
class NetworkArgs:
    """Inputs of `Network`: the stack config (vpcCidr, taskSubnets, databaseSubnets)."""

    cfg: StackConfig


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Network", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        cfg = args.cfg
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cfg.vpc_cidr,
            # RDS endpoints and the VPC endpoint are resolved by DNS name.
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=self._child,
        )
        self.public_subnets, self.private_subnets = self._subnets(cfg)
        public_rt, private_rt = self._route_tables(cfg)
        self._s3_endpoint([private_rt, public_rt])

        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.task_subnet_ids = (
            self.public_subnet_ids if cfg.tasks_public else self.private_subnet_ids
        )
        self.db_subnet_ids = (
            self.public_subnet_ids if cfg.database_subnets == "public" else self.private_subnet_ids
        )
        self.assign_public_ip = cfg.assign_public_ip

        self.alb_sg = self._group("alb", "vidpipe ALB: HTTP/HTTPS from the internet")
        self.api_sg = self._group("api", "vidpipe API tasks: API port from the ALB only")
        self.poller_sg = self._group("poller", "vidpipe poller tasks: no inbound")
        self.job_sg = self._group("transcode", "vidpipe transcode tasks: no inbound")
        self.db_sg = self._group("db", "vidpipe PostgreSQL: from the API and the poller only")
        self._rules()
        self.register_outputs({"vpcId": self.vpc.id})

    # --- subnets and routes ----------------------------------------------------------------

    def _subnet(self, tier: str, i: int, block, az) -> aws.ec2.Subnet:
        return aws.ec2.Subnet(
            f"{self._name}-{tier}-{i}",
            vpc_id=self.vpc.id,
            cidr_block=str(block),
            availability_zone=az,
            # Nothing launched here gets a public IP unless it asks for one (Fargate does, via
            # AssignPublicIp, only when taskSubnets=public).
            map_public_ip_on_launch=False,
            tags={"Name": f"{self._name}-{tier}-{i}", "tier": tier},
            opts=self._child,
        )

    def _subnets(self, cfg: StackConfig) -> tuple[list[aws.ec2.Subnet], list[aws.ec2.Subnet]]:
        """Two AZs (the ALB and a Multi-AZ RDS need two), a public and a private subnet in each:
        /16 -> /20 blocks 0,1 public; 2,3 private (room left for more tiers)."""
        azs = aws.get_availability_zones_output(state="available").names.apply(
            lambda n: n[:AZ_COUNT]
        )
        blocks = list(ipaddress.ip_network(cfg.vpc_cidr).subnets(new_prefix=20))
        public, private = [], []
        for i in range(AZ_COUNT):
            az = azs.apply(lambda n, i=i: n[i])
            public.append(self._subnet("public", i, blocks[i], az))
            private.append(self._subnet("private", i, blocks[AZ_COUNT + i], az))
        return public, private

    def _route_table(self, tier: str, subnets: list[aws.ec2.Subnet]) -> aws.ec2.RouteTable:
        table = aws.ec2.RouteTable(f"{self._name}-{tier}-rt", vpc_id=self.vpc.id, opts=self._child)
        for i, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(
                f"{self._name}-{tier}-{i}-rta",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self._child,
            )
        return table

    def _route_tables(self, cfg: StackConfig) -> tuple[aws.ec2.RouteTable, aws.ec2.RouteTable]:
        name, child = self._name, self._child
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, opts=child)
        public_rt = self._route_table("public", self.public_subnets)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        private_rt = self._route_table("private", self.private_subnets)
        if not cfg.tasks_public:
            self._nat(igw, private_rt)
        return public_rt, private_rt

    def _nat(self, igw: aws.ec2.InternetGateway, private_rt: aws.ec2.RouteTable) -> None:
        """Private tasks reach ECR and the AWS APIs through one NAT gateway: the cost /
        availability trade-off of a batch platform (an AZ outage pauses processing, the queue
        keeps the work)."""
        name = self._name
        eip = aws.ec2.Eip(f"{name}-nat-eip", domain="vpc", opts=self._child)
        nat = aws.ec2.NatGateway(
            f"{name}-nat",
            allocation_id=eip.id,
            subnet_id=self.public_subnets[0].id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
        )
        aws.ec2.Route(
            f"{name}-private-default",
            route_table_id=private_rt.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=self._child,
        )

    def _s3_endpoint(self, route_tables: list[aws.ec2.RouteTable]) -> None:
        # Free gateway endpoint: media bytes to and from S3 bypass the NAT gateway.
        aws.ec2.VpcEndpoint(
            f"{self._name}-s3-endpoint",
            vpc_id=self.vpc.id,
            service_name=aws.get_region_output().region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in route_tables],
            opts=self._child,
        )

    # --- security groups -------------------------------------------------------------------

    def _group(self, role: str, description: str) -> aws.ec2.SecurityGroup:
        # No inline rules: every rule is its own resource (_rules), so cross-references
        # (ALB -> API -> DB) never form a cycle. The provider removes AWS's default allow-all
        # egress rule when it creates a group.
        return aws.ec2.SecurityGroup(
            f"{self._name}-{role}-sg",
            vpc_id=self.vpc.id,
            description=description,
            tags={"Name": f"{self._name}-{role}"},
            opts=self._child,
        )

    def _rule(self, kind, rule_name: str, sg, port: int, *, cidr=None, peer_sg=None, why: str):
        kind(
            f"{self._name}-{rule_name}",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            referenced_security_group_id=peer_sg.id if peer_sg else None,
            description=why,
            opts=self._child,
        )

    def _rules(self) -> None:
        ingress, egress = aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule
        rule = self._rule
        rule(
            ingress, "alb-in-http", self.alb_sg, 80, cidr="0.0.0.0/0", why="HTTP from the internet"
        )
        rule(
            ingress,
            "alb-in-https",
            self.alb_sg,
            443,
            cidr="0.0.0.0/0",
            why="HTTPS from the internet",
        )
        rule(
            egress,
            "alb-out-api",
            self.alb_sg,
            API_PORT,
            peer_sg=self.api_sg,
            why="to the API tasks",
        )
        rule(ingress, "api-in-alb", self.api_sg, API_PORT, peer_sg=self.alb_sg, why="from the ALB")
        for role, sg in (("api", self.api_sg), ("poller", self.poller_sg)):
            rule(egress, f"{role}-out-db", sg, DB_PORT, peer_sg=self.db_sg, why="to PostgreSQL")
            rule(ingress, f"db-in-{role}", self.db_sg, DB_PORT, peer_sg=sg, why=f"from the {role}")
        for role, sg in (
            ("api", self.api_sg),
            ("poller", self.poller_sg),
            ("transcode", self.job_sg),
        ):
            rule(
                egress,
                f"{role}-out-https",
                sg,
                443,
                cidr=HTTPS_ANYWHERE,
                why="AWS APIs and ECR over TLS",
            )
