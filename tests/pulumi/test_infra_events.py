"""Completion events: the stack's bus, the rule for vidpipe's two detail types, the optional
webhook (EventBridge connection + API destination + rule target), and the bus in the definition."""

from __future__ import annotations

import json

from vidpipe_infra.pipeline import placeholder_values, render

import statemachines

RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"


def test_one_bus_per_stack_and_a_rule_for_processed_and_failed(stack):
    (bus,) = stack.of_type("aws:cloudwatch/eventBus:EventBus")
    assert bus.inputs["name"] == "vidpipe-test" == stack.outputs["eventBusName"]
    (rule,) = stack.of_type(RULE)
    assert rule.inputs["eventBusName"] == "vidpipe-test"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["vidpipe"],
        "detail-type": ["Video Processed", "Video Failed"],
    }


def test_no_webhook_unless_configured(stack):
    assert stack.of_type(TARGET) == []
    assert stack.of_type("aws:cloudwatch/eventConnection:EventConnection") == []
    assert "webhookToken" not in stack.outputs


def test_webhook_posts_each_event_with_the_generated_token_header(tuned_stack):
    (rule,) = tuned_stack.of_type(RULE)
    (connection,) = tuned_stack.of_type("aws:cloudwatch/eventConnection:EventConnection")
    (destination,) = tuned_stack.of_type("aws:cloudwatch/eventApiDestination:EventApiDestination")
    (target,) = tuned_stack.of_type(TARGET)
    token = tuned_stack.one("random:index/randomPassword:RandomPassword", "vidpipe-webhook-token")
    assert connection.inputs["authorizationType"] == "API_KEY"
    assert connection.inputs["authParameters"]["apiKey"] == {
        "key": "X-Hook-Secret",
        "value": token.outputs["result"],
    }
    assert tuned_stack.outputs["webhookToken"] == token.outputs["result"]
    assert destination.inputs["invocationEndpoint"] == "https://hooks.example.com/vidpipe"
    assert destination.inputs["httpMethod"] == "POST"
    assert destination.inputs["connectionArn"] == connection.outputs["arn"]
    assert target.inputs["rule"] == rule.outputs["name"]
    assert target.inputs["eventBusName"] == "vidpipe-test"
    assert target.inputs["arn"] == destination.outputs["arn"]
    role = tuned_stack.one("aws:iam/role:Role", "vidpipe-webhook")
    assert target.inputs["roleArn"] == role.outputs["arn"]


def test_the_definition_gets_the_bus_and_the_api_url_when_the_file_names_them(stack):
    template = json.dumps(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::events:putEvents",
                    "Parameters": {
                        "Entries": [
                            {
                                "EventBusName": "${EventBusName}",
                                "Detail": {"url": "${ApiBaseUrl}/api/videos/x"},
                            }
                        ]
                    },
                    "End": True,
                }
            },
        }
    )
    assert statemachines.placeholders(template) == {"EventBusName", "ApiBaseUrl"}
    values = placeholder_values(
        cluster_arn="c",
        task_definition_arn="t",
        subnet_ids=["s"],
        security_group_ids=["g"],
        assign_public_ip="DISABLED",
        status_queue_url="q",
        dlq_url="d",
        event_bus_name="vidpipe-test",
        api_base_url="https://videos.example.com",
    )
    entry = json.loads(render(values, template))["States"]["A"]["Parameters"]["Entries"][0]
    assert entry == {
        "EventBusName": "vidpipe-test",
        "Detail": {"url": "https://videos.example.com/api/videos/x"},
    }
    # The deployed definition names the stack's bus and the ALB's URL wherever the file asks.
    (machine,) = stack.of_type("aws:sfn/stateMachine:StateMachine")
    text = machine.inputs["definition"]
    wanted = statemachines.placeholders()
    assert ('"EventBusName": "vidpipe-test"' in text) is ("EventBusName" in wanted)
    assert (stack.outputs["albUrl"] in text) is ("ApiBaseUrl" in wanted)
