"""The video pipeline's Amazon States Language definition and its placeholder renderer.

The same file is deployed by Pulumi and executed by the local cloud, so both go through
`render_definition`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFINITION_PATH = Path(__file__).with_name("video_pipeline.asl.json")

# The transcode task the Transcode state runs: the same container name and command in the ECS task
# definition Pulumi registers and in the one the local cloud registers.
TRANSCODE_CONTAINER = "transcode"
TRANSCODE_COMMAND = ("python", "-m", "jobs.transcode")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


def placeholders(template: str | None = None) -> set[str]:
    """Names of every `${Name}` placeholder in the definition."""
    text = DEFINITION_PATH.read_text() if template is None else template
    return set(_PLACEHOLDER.findall(text))


def definition_values(
    *,
    cluster_arn: str,
    task_definition_arn: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    assign_public_ip: str,
    status_queue_url: str,
    dlq_url: str,
    event_bus_name: str,
    api_base_url: str,
) -> dict[str, Any]:
    """Every placeholder's value, by name (docs/architecture.md); Pulumi and the local cloud both
    build them here.

    `event_bus_name`: the EventBridge bus the completion events go to (docs/messages.md).
    `api_base_url`: the public API's origin (e.g. `https://videos.example.com`); the events carry
    `<api_base_url>/api/videos/<video_id>`.
    """
    base = api_base_url.rstrip("/")
    # It is a string literal inside States.Format, whose special characters would need escaping.
    if not base or any(c in base for c in "{}'\\"):
        raise ValueError(f"api_base_url must be a plain URL, got {api_base_url!r}")
    return {
        "ClusterArn": cluster_arn,
        "TranscodeTaskDefinitionArn": task_definition_arn,
        "TranscodeContainerName": TRANSCODE_CONTAINER,
        "SubnetIds": list(subnet_ids),
        "SecurityGroupIds": list(security_group_ids),
        "AssignPublicIp": assign_public_ip,
        "StatusQueueUrl": status_queue_url,
        "DlqUrl": dlq_url,
        "EventBusName": event_bus_name,
        "ApiBaseUrl": base,
    }


def render_definition(values: dict[str, Any], template: str | None = None) -> str:
    """Substitute every placeholder; raise KeyError naming any that has no value.

    A JSON string that is exactly `"${Name}"` becomes the value itself (so a list of subnet ids
    stays a JSON list); a placeholder inside a longer string is replaced textually.
    """
    text = DEFINITION_PATH.read_text() if template is None else template
    missing = placeholders(text) - values.keys()
    if missing:
        raise KeyError(f"no value for state machine placeholders: {sorted(missing)}")

    def substitute(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: substitute(value) for key, value in node.items()}
        if isinstance(node, list):
            return [substitute(item) for item in node]
        if isinstance(node, str):
            whole = _PLACEHOLDER.fullmatch(node)
            if whole:
                return values[whole.group(1)]
            return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
        return node

    return json.dumps(substitute(json.loads(text)), indent=2)
