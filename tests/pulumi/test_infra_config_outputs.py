"""Configuration keys and defaults, the project layout, and the stack outputs."""

from __future__ import annotations

import dataclasses
from urllib.parse import unquote

import pytest
import yaml
from vidpipe_infra.config import StackConfig, defaults

from .harness import PROGRAM, REPO, example_config


def test_example_documents_every_key_with_its_default():
    assert example_config() == defaults()


def test_every_key_has_a_comment_in_the_example():
    lines = (REPO / "Pulumi.dev.yaml.example").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("vidpipe:"):
            # Either the line above is a comment or the key belongs to a commented group.
            above = [entry.strip() for entry in lines[max(0, i - 6) : i]]
            assert any(entry.startswith("#") for entry in above), line


@pytest.mark.parametrize(
    "override",
    [
        {"task_subnets": "dmz"},
        {"database_subnets": "internet"},
        {"transcode_cpu": 1024, "transcode_memory": 512},
        {"api_min_count": 5, "api_max_count": 2},
        {"log_retention_days": 31},
        {"jobs_max_receive_count": 0},
    ],
)
def test_invalid_config_is_rejected_before_anything_is_created(override):
    with pytest.raises(ValueError):
        dataclasses.replace(StackConfig(), **override)


def test_project_file_and_layout():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == "vidpipe"
    assert project["runtime"]["name"] == "python"
    assert project["main"] == "pulumi/"
    # A pulumi/__init__.py would shadow the Pulumi SDK for the program and these tests.
    assert not (PROGRAM / "__init__.py").exists()
    assert (PROGRAM / "vidpipe_infra" / "__init__.py").exists()


def test_outputs(stack):
    outputs = stack.outputs
    queue = {
        n: stack.one("aws:sqs/queue:Queue", f"vidpipe-{n}").outputs["url"]
        for n in ("jobs", "status", "dlq")
    }
    (machine,) = stack.of_type("aws:sfn/stateMachine:StateMachine")
    (alb,) = stack.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert outputs["albUrl"] == f"http://{alb.outputs['dnsName']}"
    assert outputs["bucket"] == "vidpipe-media"
    assert (outputs["jobsQueueUrl"], outputs["statusQueueUrl"], outputs["dlqUrl"]) == (
        queue["jobs"],
        queue["status"],
        queue["dlq"],
    )
    assert outputs["stateMachineArn"] == machine.outputs["arn"]
    link = outputs["stateMachineExecutionsUrl"]
    assert link.startswith(
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/statemachines/view/"
    )
    assert unquote(link.rsplit("/", 1)[1]) == machine.outputs["arn"]
