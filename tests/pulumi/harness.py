"""Run the Pulumi program under `pulumi.runtime.set_mocks`: no CLI, no plugins, no cloud, no Docker.

`run_program(config)` executes pulumi/__main__.py exactly as `pulumi up` would, with mocks that
record every resource's resolved inputs and answer with plausible ids and ARNs so Outputs resolve.
Tests then assert on plain dicts.
"""

from __future__ import annotations

import json
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "pulumi"
for _path in (str(PROGRAM), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import yaml  # noqa: E402  (a dependency of the pulumi SDK)

import pulumi  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "test"


# Pulumi marks secret values on the wire with this signature key.
_SECRET_SIG = "4dabf18193072939515e22adb298388d"


def unwrap_secrets(value: Any) -> Any:
    """Replace Pulumi's secret envelopes by the values they carry."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            return unwrap_secrets(value["value"])
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    def json(self, key: str) -> Any:
        """An input holding a JSON document (policies, definitions), parsed."""
        return json.loads(self.inputs[key])


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource; returns the inputs plus the attributes AWS would compute."""

    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        name, inputs = args.name, unwrap_secrets(dict(args.inputs))
        computed: dict[str, Any] = {"arn": _arn("mock", name)}
        typ = args.typ
        if typ == "aws:sqs/queue:Queue":
            computed = {
                "arn": _arn("sqs", name),
                "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                "name": name,
            }
        elif typ == "aws:s3/bucket:Bucket":
            computed = {"arn": f"arn:aws:s3:::{name}", "bucket": name}
        elif typ == "aws:ecs/cluster:Cluster":
            computed = {"arn": _arn("ecs", f"cluster/{name}"), "name": name}
        elif typ == "aws:ecs/taskDefinition:TaskDefinition":
            family = _arn("ecs", f"task-definition/{inputs['family']}")
            computed = {"arn": f"{family}:1", "arnWithoutRevision": family, "revision": 1}
        elif typ == "aws:ecs/service:Service":
            computed = {"name": name}
        elif typ == "aws:iam/role:Role":
            computed = {"arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "name": name}
        elif typ == "aws:secretsmanager/secret:Secret":
            computed = {"arn": _arn("secretsmanager", f"secret:{name}-AbCdEf")}
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            computed = {"arn": _arn("logs", f"log-group:{inputs['name']}")}
        elif typ == "aws:sfn/stateMachine:StateMachine":
            computed = {"arn": _arn("states", f"stateMachine:{name}")}
        elif typ == "aws:rds/instance:Instance":
            address = f"{name}.abc123.{REGION}.rds.amazonaws.com"
            computed = {
                "arn": _arn("rds", f"db:{name}"),
                "address": address,
                "endpoint": f"{address}:5432",
            }
        elif typ == "aws:rds/subnetGroup:SubnetGroup":
            computed = {"name": name}
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            computed = {
                "arn": _arn("elasticloadbalancing", f"loadbalancer/app/{name}/1234"),
                "arnSuffix": f"app/{name}/1234",
                "dnsName": f"{name}-1234.{REGION}.elb.amazonaws.com",
            }
        elif typ == "aws:lb/targetGroup:TargetGroup":
            computed = {
                "arn": _arn("elasticloadbalancing", f"targetgroup/{name}/5678"),
                "arnSuffix": f"targetgroup/{name}/5678",
            }
        elif typ == "aws:ecr/repository:Repository":
            computed = {
                "arn": _arn("ecr", f"repository/{name}"),
                "name": name,
                "registryId": ACCOUNT,
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
            }
        elif typ == "docker-build:index:Image":
            repository = inputs["tags"][0].rsplit(":", 1)[0]
            digest = "sha256:" + "ab" * 32
            computed = {"digest": digest, "ref": f"{repository}@{digest}"}
        elif typ == "aws:cloudwatch/eventBus:EventBus":
            computed = {
                "arn": _arn("events", f"event-bus/{inputs['name']}"),
                "name": inputs["name"],
            }
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            bus = inputs.get("eventBusName", "default")
            computed = {"arn": _arn("events", f"rule/{bus}/{name}"), "name": name}
        elif typ == "aws:cloudwatch/eventConnection:EventConnection":
            computed = {"arn": _arn("events", f"connection/{name}/abcd")}
        elif typ == "aws:cloudwatch/eventApiDestination:EventApiDestination":
            computed = {"arn": _arn("events", f"api-destination/{name}/abcd")}
        elif typ == "aws:iam/policy:Policy":
            computed = {"arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}", "name": name}
        elif typ == "random:index/randomPassword:RandomPassword":
            computed = {"result": "p" * int(inputs["length"])}
        self.resources.append(Recorded(typ, name, inputs, computed))
        return f"{name}-id", {**inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "id": REGION,
                "names": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
                "zoneIds": ["use1-az1", "use1-az2", "use1-az3"],
            }
        if token == "aws:index/getRegion:getRegion":
            return {
                "id": REGION,
                "name": REGION,
                "region": REGION,
                "endpoint": f"ec2.{REGION}.amazonaws.com",
                "description": "US East (N. Virginia)",
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "id": ACCOUNT,
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
                "userId": "AIDA",
            }
        if token == "aws:index/getPartition:getPartition":
            return {
                "id": "aws",
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
            }
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "id": REGION,
                "userName": "AWS",
                "password": "ecr-login",
                "authorizationToken": "dG9rZW4=",
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
                "expiresAt": "2030-01-01",
            }
        raise AssertionError(f"unexpected invoke {token}")


class Stack:
    """The resources one run of the program registered, and its exports."""

    def __init__(self, resources: list[Recorded], outputs: dict[str, Any]):
        self.resources = resources
        self.outputs = outputs

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str) -> Recorded:
        matches = [r for r in self.resources if r.type == typ and r.name == name]
        assert len(matches) == 1, (
            f"expected one {typ} named {name}, found {[r.name for r in self.of_type(typ)]}"
        )
        return matches[0]

    def by_id(self, resource_id: str) -> Recorded:
        """The resource whose mock id (`<name>-id`) this is."""
        return next(r for r in self.resources if f"{r.name}-id" == resource_id)

    def container(self, task_definition: str) -> dict:
        """The single container of a task definition (by resource name)."""
        (container,) = self.one("aws:ecs/taskDefinition:TaskDefinition", task_definition).json(
            "containerDefinitions"
        )
        return container

    def role_policies(self, role: str) -> list[dict]:
        """Parsed inline policies attached to the role with that resource name."""
        return [
            r.json("policy")
            for r in self.of_type("aws:iam/rolePolicy:RolePolicy")
            if r.inputs["role"] == f"{role}-id"
        ]

    def role_policy(self, role: str) -> dict:
        (policy,) = self.role_policies(role)
        return policy


# Every stack needs an explicit answer on HTTPS: the default one is built with plain HTTP allowed.
BASE_CONFIG = {"allowHttp": "true"}


def run_program(config: dict[str, str] | None = None, *, base: bool = True) -> Stack:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="vidpipe", stack=STACK, preview=False)
    values = {**(BASE_CONFIG if base else {}), **(config or {})}
    pulumi.runtime.set_all_config({f"vidpipe:{k}": str(v) for k, v in values.items()})
    exports: dict[str, Any] = {}
    resolved: dict[str, Any] = {}
    real_export = pulumi.export

    @pulumi.runtime.test
    def run():
        pulumi.export = lambda key, value: exports.__setitem__(key, value)
        try:
            runpy.run_path(str(PROGRAM / "__main__.py"), run_name="__main__")
        finally:
            pulumi.export = real_export
        return pulumi.Output.all(**exports).apply(resolved.update)

    run()
    return Stack(mocks.resources, resolved)


def example_config() -> dict[str, Any]:
    """`vidpipe:*` keys of Pulumi.dev.yaml.example, i.e. the documented defaults."""
    document = yaml.safe_load((REPO / "Pulumi.dev.yaml.example").read_text())
    return {
        k.split(":", 1)[1]: v for k, v in document["config"].items() if k.startswith("vidpipe:")
    }


# A stack that changes every tunable the rules depend on, so tests prove values flow from config.
TUNED = {
    "taskSubnets": "public",
    "certificateArn": _arn("acm", "certificate/abc"),
    "alarmEmail": "ops@example.com",
    "apiMinCount": 2,
    "apiMaxCount": 7,
    "transcodeCpu": 4096,
    "transcodeMemory": 12288,
    "dbInstanceClass": "db.m7g.large",
    "dbAllocatedStorage": 50,
    "dbMultiAz": True,
    "dbBackupRetentionDays": 14,
    "jobsMaxReceiveCount": 3,
    "jobsVisibilityTimeoutSeconds": 300,
    "statusVisibilityTimeoutSeconds": 45,
    "logRetentionDays": 90,
    "jobsOldestMessageAlarmSeconds": 600,
    "api5xxAlarmThreshold": 12,
    "allowHttp": False,
    "dbDeletionProtection": False,
    "dbPoolSize": 4,
    "dbMaxOverflow": 6,
    "dbReadPoolSize": 12,
    "stateMachineLogLevel": "ALL",
    "stateMachineLogExecutionData": True,
    "webhookUrl": "https://hooks.example.com/vidpipe",
    "webhookAuthHeader": "X-Hook-Secret",
    "apiBaseUrl": "https://videos.example.com",
}
