"""Typed job errors. The names are the Step Functions error names the state machine matches."""

from __future__ import annotations


class TranscodeError(Exception):
    """Base: `error` is the Step Functions error name, the message is the human-readable cause."""

    error = "Transcode.Failed"

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


class InvalidInput(TranscodeError):
    """Deterministic: the upload itself is unusable. Never retried."""

    error = "Transcode.InvalidInput"


class Transient(TranscodeError):
    """S3/network hiccup or the task being stopped (SIGTERM): worth a retry."""

    error = "Transcode.Transient"


class Failed(TranscodeError):
    """Anything else (ffmpeg crash, time limit exceeded, bad configuration)."""

    error = "Transcode.Failed"
