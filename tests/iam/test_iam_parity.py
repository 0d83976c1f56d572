"""IAM parity: every AWS call each component really makes is allowed by the policy the Pulumi
program gives that component; so are the state machine's own service integrations.

The calls are recorded (tests/iam/recorder.py) while the end-to-end and failure tests of
tests/pipeline (and the console scenarios of tests/console) run: this pytest session's recording
(its xdist worker's), plus a pytest subprocess started here for the scenarios the session did not
run (`make test`'s slow half runs the pipeline ones, not the console's quick ones). Each call is mapped to its IAM action and resource ARN on the
stack's resources (tests/iam/actions.py) and evaluated against the component's identity policies
(tests/iam/policy.py says what that evaluator does not evaluate). A new boto3 call whose
permission is missing, or that has no mapping yet, fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections import defaultdict

import pytest

from tests.iam import actions, plugin, recorder
from tests.iam import stack as stack_policies
from tests.iam.policy import Request, allowed, allowing_statements
from tests.pulumi.harness import REPO

# Runs pipeline scenarios (or reuses the session's): `make test` runs it with the slow tests.
pytestmark = pytest.mark.slow

COMPONENTS = ("api", "poller", "job", "cli")


@pytest.fixture(scope="module")
def parity_stack():
    return stack_policies.build()


@pytest.fixture(scope="module")
def resources(parity_stack):
    return stack_policies.resources(parity_stack)


def _run_scenarios(tmp_path_factory, scenarios) -> list[dict]:
    log = tmp_path_factory.mktemp("aws-calls") / "calls.jsonl"
    env = {**os.environ, recorder.ENV_VAR: str(log)}
    pending, failed = list(scenarios), []
    # Each scenario must run; a scenario that fails its own assertions is run once more. Those
    # assertions time the pipeline, which a machine shared with other work can miss, and they are
    # tests/pipeline's to report: here only the calls matter, and re-running only adds calls.
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "tests.iam.plugin", *pending],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        # -rA summary lines: "PASSED <node id>", "FAILED <node id> - <message>".
        outcome = {}
        for line in result.stdout.splitlines():
            word, _, rest = line.partition(" ")
            if word in ("PASSED", "FAILED"):
                outcome[rest.split(" - ", 1)[0]] = word
        not_run = [n for n in pending if n not in outcome]
        assert not not_run, f"scenarios did not run: {not_run}\n" + result.stdout[-3000:]
        failed = [n for n in pending if outcome[n] == "FAILED"]
        if not failed:
            break
        pending = failed
    if failed:
        warnings.warn(
            f"scenarios failed twice, their calls are still checked: {failed}", stacklevel=1
        )
    return recorder.read(log)


@pytest.fixture(scope="module")
def calls(request, tmp_path_factory) -> list[dict]:
    path = plugin.recording(request.config)
    if path is None:
        return _run_scenarios(tmp_path_factory, plugin.SCENARIOS)
    missing = plugin.scenarios_missing()
    if not missing:
        return recorder.read(path)  # this session ran the scenarios: reuse all it recorded
    # The calls of the scenarios this session (this xdist worker) ran, plus those of the others
    # run in a subprocess: what a subprocess running them all records. `make test`'s slow half
    # runs the pipeline scenarios, not the console's quick ones; running all of them again here
    # cost two minutes.
    ran = set(plugin.SCENARIOS) - set(missing)
    return recorder.read(path, tests=ran) + _run_scenarios(tmp_path_factory, missing)


@pytest.fixture(scope="module")
def requests_by_component(calls, resources) -> dict[str, dict[tuple, Request]]:
    out: dict[str, dict[tuple, Request]] = defaultdict(dict)
    for call in calls:
        if call["component"] is None:
            continue  # the test harness, the local cloud, moto's interpreter
        for req in actions.requests_for_call(call, resources):
            out[call["component"]].setdefault(req.key, req)
    return out


def _denied(policies: list[dict], requests) -> list[str]:
    return sorted(
        f"{r.action} on {r.resource} {r.context or ''} (from {r.why})"
        for r in requests
        if not allowed(policies, r)
    )


# Calls every complete recording has: an empty or truncated recording would let everything pass.
EXPECTED_CALLS = {
    "api": {
        ("s3", "PutObject"),
        ("sqs", "SendMessage"),
        ("stepfunctions", "GetExecutionHistory"),
        ("stepfunctions", "ListExecutions"),  # the console
        ("sqs", "ReceiveMessage"),  # the console's DLQ
    },
    "poller": {("stepfunctions", "StartExecution"), ("sqs", "SendMessage")},
    "job": {("s3", "GetObject"), ("s3", "PutObject"), ("stepfunctions", "SendTaskSuccess")},
    "cli": {("sqs", "ReceiveMessage"), ("stepfunctions", "GetExecutionHistory")},
}


def test_every_component_was_recorded(calls):
    seen = {(c["component"], c["service"], c["operation"]) for c in calls}
    for component, expected in EXPECTED_CALLS.items():
        missing = {op for op in expected if (component, *op) not in seen}
        assert not missing, f"the recording has no {sorted(missing)} from {component}"


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_recorded_call_is_allowed_by_the_component_policy(
    component, requests_by_component, parity_stack
):
    policies = stack_policies.policies(parity_stack, component)
    denied = _denied(policies, requests_by_component[component].values())
    assert not denied, f"{component} would be refused in AWS:\n" + "\n".join(denied)


def test_the_state_machine_integrations_are_allowed_by_its_role(parity_stack, resources):
    machine = stack_policies.state_machine(parity_stack)
    requests = [
        req
        for name, state in actions.task_states(machine.json("definition"))
        for req in actions.requests_for_state(name, state, resources)
    ]
    assert {r.action for r in requests} >= {"sqs:SendMessage", "ecs:RunTask", "iam:PassRole"}
    requests += actions.requests_for_configuration(machine.inputs)
    denied = _denied(stack_policies.policies(parity_stack, "states"), requests)
    assert not denied, "the state machine would be refused in AWS:\n" + "\n".join(denied)


# --- the pieces the parity test relies on can fail on their own -------------------------------


def test_the_recorder_attributes_calls_to_the_outermost_component_after_the_local_cloud():
    def frames_from(*files):
        return [str(REPO / f) for f in files]

    component = recorder.component_of_stack

    assert component(frames_from("tests/x.py", "poller/sweeper.py", "vidpipe/videos.py")) == (
        "poller"
    )
    assert component(frames_from("vidpipe/cli/pipeline.py", "vidpipe/videos.py")) == "cli"
    assert component(frames_from("cli/serve.py", "localcloud/stack.py", "poller/jobs.py")) == (
        "poller"
    )
    assert component(frames_from("localcloud/runner.py", "vidpipe/aws.py")) is None
    assert component(frames_from("tests/pipeline/conftest.py", "vidpipe/videos.py")) is None


def test_the_evaluator_matches_actions_resources_and_conditions():
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": "arn:aws:s3:::b",
                "Condition": {"StringLike": {"s3:prefix": ["uploads/*"]}},
            },
            {"Effect": "Allow", "Action": "SQS:Send*", "Resource": ["arn:aws:sqs:r:1:q-?"]},
        ]
    }
    assert allowed([policy], Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "uploads/1"}))
    assert not allowed([policy], Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "x/1"}))
    assert not allowed([policy], Request("s3:ListBucket", "arn:aws:s3:::b"))  # key missing
    assert allowed([policy], Request("sqs:SendMessage", "arn:aws:sqs:r:1:q-1"))
    assert not allowed([policy], Request("sqs:SendMessage", "arn:aws:sqs:r:1:q-10"))
    assert not allowed([policy], Request("sqs:ReceiveMessage", "arn:aws:sqs:r:1:q-1"))
    with pytest.raises(NotImplementedError):
        allowing_statements(
            [{"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}],
            Request("s3:GetObject", "arn:aws:s3:::b/k"),
        )
    with pytest.raises(NotImplementedError):
        allowed(
            [{"Statement": [{**policy["Statement"][0], "Condition": {"IpAddress": {}}}]}],
            Request("s3:ListBucket", "arn:aws:s3:::b"),
        )


def test_unknown_calls_and_resources_are_not_silently_allowed(resources):
    call = {"component": "api", "service": "s3", "params": {"Bucket": "vidpipe-media"}}
    with pytest.raises(actions.Unmapped):
        actions.requests_for_call({**call, "operation": "PutBucketPolicy"}, resources)
    with pytest.raises(actions.Unmapped):
        actions.requests_for_call(
            {
                "component": "api",
                "service": "sqs",
                "operation": "SendMessage",
                "params": {"QueueUrl": "http://127.0.0.1:1/123456789012/elsewhere"},
            },
            resources,
        )
    (read, listing) = actions.requests_for_call(
        {
            "component": "job",
            "service": "s3",
            "operation": "HeadObject",
            "params": {"Bucket": "vidpipe-media", "Key": "uploads/v.mp4"},
        },
        resources,
    )
    assert (read.action, listing.action, listing.context) == (
        "s3:GetObject",
        "s3:ListBucket",
        {"s3:prefix": "uploads/v.mp4"},
    )
