"""An execution's event history as a timeline a person can read (the CLI and the API share it).

It reads `GetExecutionHistory`, the same call against AWS and the local moto server, and turns
events into rows: when, the state the event belongs to, the event, how long the state or task took,
and the error with its cause.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from vidpipe import aws, executions
from vidpipe.contracts import execution_name
from vidpipe.settings import Settings

# Events that only repeat what the next event says; `vidpipe history` hides them unless --all.
NOISE = {"TaskScheduled", "TaskStarted", "TaskSubmitted", "ChoiceStateExited", "SucceedStateExited"}


class NoHistory(Exception):
    """The orchestrator has no execution with that name (not started yet, or the local cloud was
    restarted since)."""


def fetch_events(execution_arn: str) -> list[dict]:
    sfn = aws.client("stepfunctions")
    events: list[dict] = []
    try:
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
    except ClientError as exc:
        if aws.is_not_found(exc):
            raise NoHistory(execution_arn) from exc
        raise
    return events


def _details(event: dict) -> dict:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _seconds(a: datetime, b: datetime) -> float:
    return round((b - a).total_seconds(), 3)


def timeline(events: list[dict]) -> list[dict[str, Any]]:
    """One row per event: id, time (ISO 8601), elapsed_seconds since the start, state, event,
    duration_seconds (states: entered -> exited; tasks: scheduled -> outcome; the execution:
    total), error, cause."""
    rows: list[dict[str, Any]] = []
    if not events:
        return rows
    start: datetime = events[0]["timestamp"]
    state: str | None = None
    entered: dict[str, datetime] = {}
    scheduled: datetime | None = None
    for event in events:
        kind: str = event["type"]
        when: datetime = event["timestamp"]
        details = _details(event)
        duration = None
        row_state = state
        if kind.endswith("StateEntered"):
            state = row_state = details.get("name")
            if state is not None:
                entered[state] = when
        elif kind.endswith("StateExited"):
            row_state = details.get("name", state)
            if row_state in entered:
                duration = _seconds(entered[row_state], when)
            state = None
        elif kind == "TaskScheduled":
            scheduled = when
        elif kind in (
            "TaskSucceeded",
            "TaskFailed",
            "TaskTimedOut",
            "TaskSubmitFailed",
            "TaskStartFailed",
        ):
            if scheduled is not None:
                duration = _seconds(scheduled, when)
        elif kind.startswith("Execution") and kind != "ExecutionStarted":
            duration = _seconds(start, when)
            row_state = None
        rows.append(
            {
                "id": event["id"],
                "time": when.isoformat(),
                "elapsed_seconds": _seconds(start, when),
                "state": row_state,
                "event": kind,
                "duration_seconds": duration,
                "error": details.get("error"),
                "cause": details.get("cause"),
            }
        )
    return rows


def video_events(video_id: str, attempt: int, settings: Settings) -> list[dict]:
    """The events of the execution `<video_id>-<attempt>`; NoHistory when it does not exist."""
    return fetch_events(executions.execution_arn(execution_name(video_id, attempt), settings))


def video_timeline(video_id: str, attempt: int, settings: Settings) -> list[dict[str, Any]]:
    """The timeline of the execution `<video_id>-<attempt>`; NoHistory when it does not exist."""
    return timeline(video_events(video_id, attempt, settings))


def job_result(events: list[dict]) -> dict[str, Any] | None:
    """The transcode job's result (its SendTaskSuccess output, with the run's cost figures), from
    the history itself: `vidpipe history` needs no database to show what a run cost."""
    for event in reversed(events):
        details = event.get("taskSucceededEventDetails") or {}
        if event["type"] == "TaskSucceeded" and details.get("resourceType") == "ecs":
            try:
                result = json.loads(details.get("output") or "null")
            except ValueError:
                return None
            return result if isinstance(result, dict) else None
    return None


def format_cost(result: dict[str, Any], cost_usd: float | None) -> str:
    """One line: what the run used and its estimated price."""

    def figure(key: str, unit: str, scale: float = 1.0) -> str:
        value = result.get(key)
        return "?" if value is None else f"{value / scale:.1f} {unit}"

    price = "unknown" if cost_usd is None else f"${cost_usd:.6f}"
    return (
        f"cost: {figure('wall_seconds', 's')} wall, {figure('cpu_seconds', 's')} CPU, "
        f"peak {figure('peak_memory_mb', 'MB')}, in {figure('input_bytes', 'MB', 1e6)}, "
        f"out {figure('output_bytes', 'MB', 1e6)}, task {result.get('task_vcpu', '?')} vCPU / "
        f"{result.get('task_memory_gb', '?')} GB: estimated {price} (Fargate prices in settings)"
    )


def latest_attempt(video_id: str, settings: Settings) -> int | None:
    """The highest attempt with an execution, found from the orchestrator alone (operators run
    `vidpipe history` from outside the VPC, where the database cannot be reached). Attempts are
    numbered from 1 without gaps and there are only a few per video."""
    sfn = aws.client("stepfunctions")
    found = None
    for attempt in range(1, 100):
        try:
            sfn.describe_execution(
                executionArn=executions.execution_arn(execution_name(video_id, attempt), settings)
            )
        except ClientError as exc:
            if aws.is_not_found(exc):
                return found
            raise
        found = attempt
    return found


def _short(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_timeline(rows: list[dict[str, Any]], *, everything: bool = False) -> str:
    """A fixed-width table; `everything=False` hides the NOISE events."""
    lines = [f"{'TIME (UTC)':<12} {'+S':>8}  {'STATE':<18} {'EVENT':<26} {'TOOK':>8}  ERROR"]
    for row in rows:
        if not everything and row["event"] in NOISE:
            continue
        clock = datetime.fromisoformat(row["time"]).strftime("%H:%M:%S.%f")[:12]
        took = "" if row["duration_seconds"] is None else f"{row['duration_seconds']:.3f}s"
        error = row["error"] or ""
        if row["cause"]:
            error = f"{error}: {_short(row['cause'], 90)}" if error else _short(row["cause"], 90)
        lines.append(
            f"{clock:<12} {row['elapsed_seconds']:>8.3f}  {_short(row['state'] or '-', 18):<18} "
            f"{row['event']:<26} {took:>8}  {error}".rstrip()
        )
    return "\n".join(lines)


def rows_as_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2)


def state_path(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the run did, state by state, from its timeline rows (for drawing it on the graph).

    `visited`: the states in the order they were entered; `transitions`: the [from, to] pairs
    taken, in order, without repeats; `states`: per state, how often it was entered, how many
    errors it had and how it ended (`succeeded`, `failed` when its last outcome was an error that
    a Catch or the execution's end took over, `running` while the execution is in it);
    `failed_state`: the first state that ended failed (where the run went wrong), or the Fail state
    reached without an error before it, or None."""
    visited: list[str] = []
    transitions: list[list[str]] = []
    states: dict[str, dict[str, Any]] = {}
    ended: str | None = None
    for row in rows:
        name, event = row["state"], row["event"]
        if event.startswith("Execution") and event != "ExecutionStarted":
            ended = event
        if name is None:
            continue
        info = states.setdefault(name, {"entered": 0, "errors": 0, "status": "running"})
        if event.endswith("StateEntered"):
            if visited and visited[-1] != name and [visited[-1], name] not in transitions:
                transitions.append([visited[-1], name])
            visited.append(name)
            info["entered"] += 1
            info["status"] = "failed" if event == "FailStateEntered" else "running"
        elif event in ("TaskScheduled", "TaskStarted", "TaskSubmitted"):
            info["status"] = "running"  # a Retry starts the task again
        elif row["error"] and not event.endswith("StateExited"):
            info["errors"] += 1
            info["status"] = "failed"
        elif event.endswith("StateExited") and info["status"] == "running":
            info["status"] = "succeeded"
    if ended is not None:
        # A state still running when the execution ended: the end state of a succeeded run, or
        # where a failed, timed-out or aborted run stopped.
        for info in states.values():
            if info["status"] == "running":
                info["status"] = "succeeded" if ended == "ExecutionSucceeded" else "failed"
    failed = [name for name in visited if states[name]["status"] == "failed"]
    return {
        "visited": visited,
        "transitions": transitions,
        "states": states,
        "failed_state": failed[0] if failed else None,
    }
