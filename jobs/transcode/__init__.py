"""The ffmpeg transcode job (issue 3). Entry point: `python -m jobs.transcode`.

Library use (local runner, benchmarks): `process_file(input, output, poster, settings,
on_progress=...)` transcodes without AWS; `run_job(settings)` is the ECS task.
"""

from .errors import Failed, InvalidInput, TranscodeError, Transient
from .job import TranscodeResult, process_file, run_job
from .settings import TranscodeSettings

__all__ = [
    "Failed",
    "InvalidInput",
    "TranscodeError",
    "Transient",
    "TranscodeResult",
    "TranscodeSettings",
    "process_file",
    "run_job",
]
