"""ECS refusing to start the transcode task is retried, not a failed video: a RunTask reply with
`failures` (no Fargate capacity, vCPU quota: `AmazonECS.Unknown`) and throttled subnet /
security-group lookups (`ECS.InvalidParameterException`).

The fault is injected into the local ECS for one RunTask only, in this process (moto runs
in-process, so patching its ECS response handler is what the state machine's RunTask reaches).
"""

from __future__ import annotations

import pytest
from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.responses import EC2ContainerServiceResponse

# Boots a local cloud: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow

CAPACITY = "Capacity is unavailable at this time. Please try again later or in a different AZ"
THROTTLED = "Error retrieving security group information for [sg-1]: Request limit exceeded"


@pytest.fixture
def run_task_refused_once(monkeypatch):
    """run_task_refused_once("failures" | "invalid-parameter"): the next RunTask is refused that
    way, later ones run as usual. Returns the list of refusals made."""

    def install(kind: str) -> list[str]:
        real = EC2ContainerServiceResponse.run_task
        refused: list[str] = []

        def run_task(self):
            if refused:
                return real(self)
            refused.append(kind)
            if kind == "failures":
                cluster = self._get_param("cluster")
                return ActionResult(
                    {"tasks": [], "failures": [{"arn": cluster, "reason": CAPACITY}]}
                )
            raise InvalidParameterException(THROTTLED)

        monkeypatch.setattr(EC2ContainerServiceResponse, "run_task", run_task)
        return refused

    return install


@pytest.mark.parametrize(
    ("kind", "error", "cause"),
    [
        ("failures", "AmazonECS.Unknown", CAPACITY),
        ("invalid-parameter", "ECS.InvalidParameterException", THROTTLED),
    ],
)
def test_a_refused_run_task_is_retried_and_the_video_processed(
    pipeline_factory, run_task_refused_once, kind, error, cause
):
    # A long heartbeat: on a busy machine a slow job start must not add a timeout retry here.
    p = pipeline_factory("ok", heartbeat=30)
    refused = run_task_refused_once(kind)
    vid = p.video()
    v = p.wait_status(vid, ("processed", "failed"), timeout=60)
    assert v.status == "processed", v.error
    assert refused == [kind]
    assert p.wait_execution_done(vid)["status"] == "SUCCEEDED"
    events = p.events(vid)
    failed = [
        e["taskFailedEventDetails"]
        for e in events
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"].get("resourceType") == "ecs"
    ]
    assert [f["error"] for f in failed] == [error]
    assert cause in failed[0]["cause"]
    scheduled = [
        e
        for e in events
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "ecs"
    ]
    assert len(scheduled) == 2  # refused, then retried by the state's Retry
    assert p.transcode_runs(vid) == 1 and p.fake_runs(vid) == 1
    p.wait_no_tasks()
