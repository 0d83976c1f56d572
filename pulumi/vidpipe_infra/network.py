"""VPC across two availability zones and the security groups between the tiers.

Traffic allowed, and nothing else:
  internet -> ALB 80/443;  ALB -> API 8000;  API, poller -> PostgreSQL 5432;
  API, poller, transcode -> 443 outbound (AWS APIs, ECR; through the NAT gateway when private).
"""

from __future__ import annotations

import ipaddress

import pulumi_aws as aws

import pulumi

from .config import StackConfig

API_PORT = 8000
DB_PORT = 5432
HTTPS_ANYWHERE = "0.0.0.0/0"


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cfg.vpc_cidr,
            # RDS endpoints and the VPC endpoint are resolved by DNS name.
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        # Two AZs: the ALB and a Multi-AZ RDS both require subnets in at least two.
        azs = aws.get_availability_zones_output(state="available").names.apply(lambda n: n[:2])
        # /16 -> /20 blocks: 0,1 public; 2,3 private. Leaves room for more tiers later.
        blocks = list(ipaddress.ip_network(cfg.vpc_cidr).subnets(new_prefix=20))

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=self.vpc.id, opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        for i in range(2):
            az = azs.apply(lambda n, i=i: n[i])
            public = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[i]),
                availability_zone=az,
                # Nothing launched here gets a public IP unless it asks for one (Fargate does,
                # via AssignPublicIp, only when taskSubnets=public).
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{i}", "tier": "public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}-rta",
                subnet_id=public.id,
                route_table_id=public_rt.id,
                opts=child,
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[2 + i]),
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-private-{i}", "tier": "private"},
                opts=child,
            )
            self.public_subnets.append(public)
            self.private_subnets.append(private)

        private_rt = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=self.vpc.id, opts=child)
        for i, subnet in enumerate(self.private_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}-rta",
                subnet_id=subnet.id,
                route_table_id=private_rt.id,
                opts=child,
            )
        if not cfg.tasks_public:
            # Private tasks reach ECR and the AWS APIs through one NAT gateway: one is the cost /
            # availability trade-off of a batch platform (an AZ outage pauses processing, the queue
            # keeps the work).
            eip = aws.ec2.Eip(f"{name}-nat-eip", domain="vpc", opts=child)
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
                opts=child,
            )
        # Free gateway endpoint: media bytes to and from S3 bypass the NAT gateway.
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=self.vpc.id,
            service_name=aws.get_region_output().region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[private_rt.id, public_rt.id],
            opts=child,
        )

        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.task_subnet_ids = (
            self.public_subnet_ids if cfg.tasks_public else self.private_subnet_ids
        )
        self.db_subnet_ids = (
            self.public_subnet_ids if cfg.database_subnets == "public" else self.private_subnet_ids
        )
        self.assign_public_ip = cfg.assign_public_ip

        # Security groups carry no inline rules: every rule is its own resource below, so
        # cross-references (ALB -> API -> DB) never form a cycle. The provider removes AWS's
        # default allow-all egress rule when it creates a group.
        def group(role: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                f"{name}-{role}-sg",
                vpc_id=self.vpc.id,
                description=description,
                tags={"Name": f"{name}-{role}"},
                opts=child,
            )

        self.alb_sg = group("alb", "vidpipe ALB: HTTP/HTTPS from the internet")
        self.api_sg = group("api", "vidpipe API tasks: API port from the ALB only")
        self.poller_sg = group("poller", "vidpipe poller tasks: no inbound")
        self.job_sg = group("transcode", "vidpipe transcode tasks: no inbound")
        self.db_sg = group("db", "vidpipe PostgreSQL: from the API and the poller only")

        def rule(kind, rule_name: str, sg, port: int, *, cidr=None, peer_sg=None, description: str):
            kind(
                f"{name}-{rule_name}",
                security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=cidr,
                referenced_security_group_id=peer_sg.id if peer_sg else None,
                description=description,
                opts=child,
            )

        def ingress(rule_name: str, sg, port: int, *, cidr=None, source_sg=None, description: str):
            rule(
                aws.vpc.SecurityGroupIngressRule,
                rule_name,
                sg,
                port,
                cidr=cidr,
                peer_sg=source_sg,
                description=description,
            )

        def egress(rule_name: str, sg, port: int, *, cidr=None, dest_sg=None, description: str):
            rule(
                aws.vpc.SecurityGroupEgressRule,
                rule_name,
                sg,
                port,
                cidr=cidr,
                peer_sg=dest_sg,
                description=description,
            )

        ingress(
            "alb-in-http", self.alb_sg, 80, cidr="0.0.0.0/0", description="HTTP from the internet"
        )
        ingress(
            "alb-in-https",
            self.alb_sg,
            443,
            cidr="0.0.0.0/0",
            description="HTTPS from the internet",
        )
        egress(
            "alb-out-api",
            self.alb_sg,
            API_PORT,
            dest_sg=self.api_sg,
            description="to the API tasks",
        )
        ingress(
            "api-in-alb", self.api_sg, API_PORT, source_sg=self.alb_sg, description="from the ALB"
        )
        for role, sg in (("api", self.api_sg), ("poller", self.poller_sg)):
            egress(f"{role}-out-db", sg, DB_PORT, dest_sg=self.db_sg, description="to PostgreSQL")
            ingress(
                f"db-in-{role}", self.db_sg, DB_PORT, source_sg=sg, description=f"from the {role}"
            )
        for role, sg in (
            ("api", self.api_sg),
            ("poller", self.poller_sg),
            ("transcode", self.job_sg),
        ):
            egress(
                f"{role}-out-https",
                sg,
                443,
                cidr=HTTPS_ANYWHERE,
                description="AWS APIs and ECR over TLS",
            )

        self.register_outputs({"vpcId": self.vpc.id})
