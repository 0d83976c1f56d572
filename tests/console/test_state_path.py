"""vidpipe.history.state_path: the path a run took through the state machine, from its timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vidpipe.history import state_path, timeline

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _events(*specs: tuple) -> list[dict]:
    """(type, details) pairs -> GetExecutionHistory events, one second apart."""
    events = []
    for i, (kind, details) in enumerate(specs, start=1):
        event = {"id": i, "type": kind, "timestamp": T0 + timedelta(seconds=i)}
        if details is not None:
            key = {
                "StateEntered": "stateEnteredEventDetails",
                "StateExited": "stateExitedEventDetails",
            }.get(next((s for s in ("StateEntered", "StateExited") if kind.endswith(s)), ""))
            event[key or f"{kind[0].lower()}{kind[1:]}EventDetails"] = details
        events.append(event)
    return events


def enter(kind: str, name: str) -> tuple:
    return (f"{kind}StateEntered", {"name": name})


def leave(kind: str, name: str) -> tuple:
    return (f"{kind}StateExited", {"name": name})


def test_failed_run_marks_the_state_where_it_went_wrong():
    rows = timeline(
        _events(
            ("ExecutionStarted", {}),
            enter("Task", "MarkProcessing"),
            ("TaskSucceeded", {}),
            leave("Task", "MarkProcessing"),
            enter("Choice", "IsCurrentAttempt"),
            leave("Choice", "IsCurrentAttempt"),
            enter("Task", "Transcode"),
            ("TaskScheduled", {}),
            ("TaskFailed", {"error": "Transcode.Failed", "cause": "ffmpeg crashed"}),
            ("TaskScheduled", {}),  # the Retry
            ("TaskFailed", {"error": "Transcode.Failed", "cause": "ffmpeg crashed"}),
            leave("Task", "Transcode"),  # the Catch takes over
            enter("Task", "RecordFailure"),
            ("TaskSucceeded", {}),
            leave("Task", "RecordFailure"),
            enter("Task", "SendToDlq"),
            ("TaskSucceeded", {}),
            leave("Task", "SendToDlq"),
            enter("Fail", "VideoFailed"),
            ("ExecutionFailed", {"error": "Video.ProcessingFailed"}),
        )
    )
    path = state_path(rows)
    assert path["visited"] == [
        "MarkProcessing",
        "IsCurrentAttempt",
        "Transcode",
        "RecordFailure",
        "SendToDlq",
        "VideoFailed",
    ]
    assert path["transitions"][2] == ["Transcode", "RecordFailure"]
    assert path["failed_state"] == "Transcode"
    assert path["states"]["Transcode"] == {"entered": 1, "errors": 2, "status": "failed"}
    assert path["states"]["MarkProcessing"]["status"] == "succeeded"
    assert path["states"]["RecordFailure"]["status"] == "succeeded"
    assert path["states"]["VideoFailed"]["status"] == "failed"
    assert "Processed" not in path["states"]


def test_a_retry_that_succeeds_is_not_a_failure():
    rows = timeline(
        _events(
            ("ExecutionStarted", {}),
            enter("Task", "Transcode"),
            ("TaskScheduled", {}),
            ("TaskFailed", {"error": "Transcode.Transient", "cause": "S3 hiccup"}),
            ("TaskScheduled", {}),
            ("TaskSucceeded", {}),
            leave("Task", "Transcode"),
            enter("Succeed", "Processed"),
            ("ExecutionSucceeded", {}),
        )
    )
    path = state_path(rows)
    assert path["failed_state"] is None
    assert path["states"]["Transcode"] == {"entered": 1, "errors": 1, "status": "succeeded"}
    assert path["states"]["Processed"]["status"] == "succeeded"


def test_running_and_timed_out_executions():
    started = _events(("ExecutionStarted", {}), enter("Task", "Transcode"), ("TaskScheduled", {}))
    running = state_path(timeline(started))
    assert running["states"]["Transcode"]["status"] == "running"
    assert running["failed_state"] is None
    timed_out = state_path(timeline([*started, *_events(("ExecutionTimedOut", {}))[0:1]]))
    assert timed_out["states"]["Transcode"]["status"] == "failed"
    assert timed_out["failed_state"] == "Transcode"


def test_no_events_no_path():
    assert state_path([]) == {"visited": [], "transitions": [], "states": {}, "failed_state": None}
