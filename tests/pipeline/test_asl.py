"""The state machine file: a real ASL validator, the placeholder contract, the states' policy."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from statelint.linter import Linter

import statemachines

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDERS = {
    "ClusterArn",
    "TranscodeTaskDefinitionArn",
    "TranscodeContainerName",
    "SubnetIds",
    "SecurityGroupIds",
    "AssignPublicIp",
    "StatusQueueUrl",
    "DlqUrl",
    "EventBusName",
    "ApiBaseUrl",
}
VALUES = {
    "ClusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/vidpipe",
    "TranscodeTaskDefinitionArn": (
        "arn:aws:ecs:eu-west-1:111122223333:task-definition/vidpipe-transcode"
    ),
    "TranscodeContainerName": "transcode",
    "SubnetIds": ["subnet-1", "subnet-2"],
    "SecurityGroupIds": ["sg-1"],
    "AssignPublicIp": "DISABLED",
    "StatusQueueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/vidpipe-status",
    "DlqUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/vidpipe-dlq",
    "EventBusName": "vidpipe-dev",
    "ApiBaseUrl": "https://videos.example.com",
}
ASL_VALIDATOR = "asl-validator@4.0.0"


def _validator() -> list[str]:
    local = ROOT / "node_modules" / ".bin" / "asl-validator"
    if local.exists():
        return [str(local)]
    if shutil.which("asl-validator"):
        return ["asl-validator"]
    if shutil.which("npx"):
        return ["npx", "--yes", ASL_VALIDATOR]
    pytest.skip("Node.js is not installed: `npm install asl-validator@4.0.0` (CI installs it)")


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*_validator(), "--json-path", str(path)], capture_output=True, text=True, timeout=120
    )


def test_file_and_rendered_definition_pass_asl_validator(tmp_path):
    rendered = tmp_path / "rendered.asl.json"
    rendered.write_text(statemachines.render_definition(VALUES))
    for path in (statemachines.DEFINITION_PATH, rendered):
        result = _validate(path)
        assert result.returncode == 0, result.stdout + result.stderr
    # The validator does reject a broken definition (so a pass above means something).
    broken = json.loads(rendered.read_text())
    broken["States"]["Transcode"]["Next"] = "NoSuchState"
    bad = tmp_path / "broken.asl.json"
    bad.write_text(json.dumps(broken))
    assert _validate(bad).returncode != 0


def test_file_and_rendered_definition_pass_statelint():
    """statelint (PyPI) checks field types asl-validator lets through, e.g. a float BackoffRate."""
    rendered = json.loads(statemachines.render_definition(VALUES))
    for definition in (json.loads(statemachines.DEFINITION_PATH.read_text()), rendered):
        assert Linter.validate(definition) == []
    broken = json.loads(json.dumps(rendered))
    broken["States"]["Transcode"]["Retry"][1]["BackoffRate"] = 2
    assert any("BackoffRate" in problem for problem in Linter.validate(broken))


def test_placeholders_are_exactly_the_deploy_contract():
    assert statemachines.placeholders() == PLACEHOLDERS
    rendered = json.loads(statemachines.render_definition(VALUES))
    assert "${" not in json.dumps(rendered)
    vpc = rendered["States"]["Transcode"]["Parameters"]["NetworkConfiguration"][
        "AwsvpcConfiguration"
    ]
    assert vpc["Subnets"] == ["subnet-1", "subnet-2"] and vpc["SecurityGroups"] == ["sg-1"]


def test_definition_values_take_the_api_origin_as_a_plain_url():
    common: dict = {
        "cluster_arn": "c",
        "task_definition_arn": "t",
        "subnet_ids": ["s"],
        "security_group_ids": ["g"],
        "assign_public_ip": "DISABLED",
        "status_queue_url": "q",
        "dlq_url": "d",
        "event_bus_name": "vidpipe-dev",
    }
    values = statemachines.definition_values(api_base_url="https://v.example.com/", **common)
    assert (values["ApiBaseUrl"], values["EventBusName"]) == (
        "https://v.example.com",
        "vidpipe-dev",
    )
    rendered = json.loads(statemachines.render_definition(values))
    detail = rendered["States"]["PublishProcessed"]["Parameters"]["Entries"][0]["Detail"]
    assert detail["url.$"] == "States.Format('https://v.example.com/api/videos/{}', $.video_id)"
    # A quote or brace would break the States.Format string literal it is rendered into.
    for bad in ("", "https://x.example.com/{id}", "https://x.example.com/it's"):
        with pytest.raises(ValueError):
            statemachines.definition_values(api_base_url=bad, **common)


def test_states_follow_the_pipeline_policy():
    states = json.loads(statemachines.DEFINITION_PATH.read_text())["States"]
    transcode = states["Transcode"]
    assert transcode["Resource"] == "arn:aws:states:::ecs:runTask.waitForTaskToken"
    assert 0 < transcode["HeartbeatSeconds"] < transcode["TimeoutSeconds"]
    env = {
        e["Name"]
        for e in transcode["Parameters"]["Overrides"]["ContainerOverrides"][0]["Environment"]
    }
    assert env == {
        "VIDPIPE_VIDEO_ID",
        "VIDPIPE_ATTEMPT",
        "VIDPIPE_BUCKET",
        "VIDPIPE_INPUT_KEY",
        "VIDPIPE_OUTPUT_PREFIX",
        "VIDPIPE_TASK_TOKEN",
        "VIDPIPE_STATUS_QUEUE_URL",  # where the job sends its video.progress messages
    }
    # A cold start (Fargate provisioning, image pull, Python start-up) fits before the first beat.
    assert 240 <= transcode["HeartbeatSeconds"] <= 600
    retry = {e: r for r in transcode["Retry"] for e in r["ErrorEquals"]}
    assert retry["Transcode.InvalidInput"]["MaxAttempts"] == 0
    # ECS refusing to start the task (capacity, quota, throttled lookups): capped, jittered backoff.
    for error in ("AmazonECS.Unknown", "ECS.InvalidParameterException", "ECS.AmazonECSException"):
        r = retry[error]
        assert r["MaxAttempts"] >= 3 and r["BackoffRate"] > 1 and r["JitterStrategy"] == "FULL"
        assert r["IntervalSeconds"] < r["MaxDelaySeconds"] <= 600
    for error in (
        "Transcode.Transient",
        "States.HeartbeatTimeout",
        "States.Timeout",
        "ECS.AmazonECSException",
        "ECS.ThrottlingException",
    ):
        assert retry[error]["MaxAttempts"] >= 1 and retry[error]["BackoffRate"] >= 1
    # An unusable upload is the player's, not an outage: its own terminal state, not a failed
    # execution, no DLQ message. Everything else is recorded, sent to the DLQ, and fails.
    catch = {e: c["Next"] for c in transcode["Catch"] for e in c["ErrorEquals"]}
    assert catch == {"Transcode.InvalidInput": "RecordRejection", "States.ALL": "RecordFailure"}
    assert transcode["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
    assert states["VideoRejected"]["Type"] == "Succeed"
    assert [c["Next"] for c in states["RecordRejection"]["Catch"]] == ["SendToDlq"]
    assert states["RecordFailure"]["Next"] == "SendToDlq"
    # Each outcome the poller recorded is published once, then ends; a failed publish cannot
    # change the outcome (caught, and no path in it can be missing: States.ALL does not catch
    # States.Runtime in AWS).
    for recorded, check, publish, end, detail_type in (
        (
            "RecordSuccess",
            "ProcessedRecorded",
            "PublishProcessed",
            "Processed",
            "Video Processed",
        ),
        (
            "RecordRejection",
            "RejectionRecorded",
            "PublishRejected",
            "VideoRejected",
            "Video Failed",
        ),
        ("SendToDlq", "FailureRecorded", "PublishFailed", "VideoFailed", "Video Failed"),
    ):
        assert states[recorded]["Next"] == check and states[check]["Type"] == "Choice"
        assert states[check]["Default"] == end
        assert [c["Next"] for c in states[check]["Choices"]][-1] == publish
        state = states[publish]
        assert state["Resource"] == "arn:aws:states:::events:putEvents"
        (entry,) = state["Parameters"]["Entries"]
        assert entry["EventBusName"] == "${EventBusName}" and entry["Source"] == "vidpipe"
        assert entry["DetailType"] == detail_type
        assert entry["Detail"]["url.$"].startswith("States.Format('${ApiBaseUrl}/api/videos/{}'")
        assert state["Next"] == end and state["ResultPath"] is None
        assert [(c["ErrorEquals"], c["Next"]) for c in state["Catch"]] == [(["States.ALL"], end)]
    for name in ("MarkProcessing", "RecordSuccess", "RecordFailure", "RecordRejection"):
        assert states[name]["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
        body = states[name]["Parameters"]["MessageBody"]
        assert body["task_token.$"] == "$$.Task.Token" and body["version"] == 1
    assert states["SendToDlq"]["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert states["SendToDlq"]["Parameters"]["MessageBody"]["message.$"] == "$$.Execution.Input"
    assert states["VideoFailed"]["Type"] == "Fail"
