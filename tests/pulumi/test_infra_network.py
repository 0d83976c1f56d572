"""Network: two AZs, security groups (ALB 80/443 from the internet, API port only from the ALB,
PostgreSQL only from the API and the poller), and task/RDS placement from config."""

from __future__ import annotations

from .harness import Stack

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"


def rules(stack: Stack, kind: str, group: str) -> set[tuple]:
    """(port range, peer) of every rule of that kind on the group; peer: a CIDR or a group."""
    out = set()
    for rule in stack.of_type(kind):
        if rule.inputs["securityGroupId"] != f"{group}-id":
            continue
        peer = (
            rule.inputs.get("cidrIpv4")
            or stack.by_id(rule.inputs["referencedSecurityGroupId"]).name
        )
        out.add((rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"], peer))
    return out


def test_no_inline_rules_so_the_separate_rules_are_the_whole_story(stack):
    for group in stack.of_type(SG):
        assert "ingress" not in group.inputs and "egress" not in group.inputs, group.name


def test_alb_accepts_80_and_443_from_the_internet_and_talks_only_to_the_api(stack):
    assert rules(stack, INGRESS, "vidpipe-alb-sg") == {
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
    }
    assert rules(stack, EGRESS, "vidpipe-alb-sg") == {("tcp", 8000, 8000, "vidpipe-api-sg")}


def test_api_port_only_from_the_alb(stack):
    assert rules(stack, INGRESS, "vidpipe-api-sg") == {("tcp", 8000, 8000, "vidpipe-alb-sg")}


def test_postgres_only_from_the_api_and_the_poller(stack):
    assert rules(stack, INGRESS, "vidpipe-db-sg") == {
        ("tcp", 5432, 5432, "vidpipe-api-sg"),
        ("tcp", 5432, 5432, "vidpipe-poller-sg"),
    }
    # The database initiates nothing.
    assert rules(stack, EGRESS, "vidpipe-db-sg") == set()
    (db,) = stack.of_type("aws:rds/instance:Instance")
    assert db.inputs["vpcSecurityGroupIds"] == ["vidpipe-db-sg-id"]


def test_workers_accept_nothing_and_reach_only_postgres_and_https(stack):
    for group in ("vidpipe-poller-sg", "vidpipe-transcode-sg"):
        assert rules(stack, INGRESS, group) == set()
    assert rules(stack, EGRESS, "vidpipe-transcode-sg") == {("tcp", 443, 443, "0.0.0.0/0")}
    for group in ("vidpipe-api-sg", "vidpipe-poller-sg"):
        assert rules(stack, EGRESS, group) == {
            ("tcp", 443, 443, "0.0.0.0/0"),
            ("tcp", 5432, 5432, "vidpipe-db-sg"),
        }


def test_only_the_alb_is_open_to_the_internet(stack):
    open_rules = [r.name for r in stack.of_type(INGRESS) if r.inputs.get("cidrIpv4")]
    assert sorted(open_rules) == ["vidpipe-alb-in-http", "vidpipe-alb-in-https"]


def test_two_availability_zones_each_with_a_public_and_a_private_subnet(stack):
    subnets = stack.of_type("aws:ec2/subnet:Subnet")
    by_tier = {
        tier: [s for s in subnets if s.inputs["tags"]["tier"] == tier]
        for tier in ("public", "private")
    }
    for tier, members in by_tier.items():
        assert len({s.inputs["availabilityZone"] for s in members}) == 2, tier
        assert not any(s.inputs["mapPublicIpOnLaunch"] for s in members)
    (alb,) = stack.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["internal"] is False
    assert sorted(alb.inputs["subnets"]) == sorted(f"{s.name}-id" for s in by_tier["public"])
    assert alb.inputs["securityGroups"] == ["vidpipe-alb-sg-id"]


def _service_network(stack: Stack, name: str) -> dict:
    return stack.one("aws:ecs/service:Service", name).inputs["networkConfiguration"]


def _definition(stack: Stack) -> dict:
    (machine,) = stack.of_type("aws:sfn/stateMachine:StateMachine")
    return machine.json("definition")


def test_default_tasks_private_behind_nat_and_rds_private(stack):
    private = ["vidpipe-private-0-id", "vidpipe-private-1-id"]
    for service in ("vidpipe-api", "vidpipe-poller"):
        network = _service_network(stack, service)
        assert network["subnets"] == private
        assert network["assignPublicIp"] is False
    assert len(stack.of_type("aws:ec2/natGateway:NatGateway")) == 1
    (route,) = [r for r in stack.of_type("aws:ec2/route:Route") if r.inputs.get("natGatewayId")]
    assert route.inputs["routeTableId"] == "vidpipe-private-rt-id"
    (subnet_group,) = stack.of_type("aws:rds/subnetGroup:SubnetGroup")
    assert subnet_group.inputs["subnetIds"] == private


def test_public_tasks_get_public_ips_without_nat_and_rds_stays_private(tuned_stack):
    public = ["vidpipe-public-0-id", "vidpipe-public-1-id"]
    for service in ("vidpipe-api", "vidpipe-poller"):
        network = _service_network(tuned_stack, service)
        assert network["subnets"] == public
        assert network["assignPublicIp"] is True
    assert tuned_stack.of_type("aws:ec2/natGateway:NatGateway") == []
    (subnet_group,) = tuned_stack.of_type("aws:rds/subnetGroup:SubnetGroup")
    assert subnet_group.inputs["subnetIds"] == ["vidpipe-private-0-id", "vidpipe-private-1-id"]
    (db,) = tuned_stack.of_type("aws:rds/instance:Instance")
    assert db.inputs["publiclyAccessible"] is False
