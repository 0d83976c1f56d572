"""The real job's rejection of a clip that is too short, for the fake job to report and the tests
to expect: the wording is the transcode job's (jobs.transcode.probe.check_policy), not a copy."""

from __future__ import annotations

from fractions import Fraction

from jobs.transcode.errors import InvalidInput
from jobs.transcode.probe import ProbeResult, check_policy
from jobs.transcode.settings import TranscodeSettings

THREE_SECOND_CLIP = ProbeResult(
    width=1920,
    height=1080,
    rotation=0,
    sar=Fraction(1),
    stream_index=0,
    duration=3.0,
    start_time=0.0,
    frame_rate="30/1",
    pix_fmt="yuv420p",
    codec="h264",
    has_audio=False,
)


def real_rejection() -> str:
    """What the job says about THREE_SECOND_CLIP under the platform's default policy."""
    try:
        check_policy(THREE_SECOND_CLIP, TranscodeSettings(_env_file=None, min_duration_seconds=20))
    except InvalidInput as exc:
        return exc.cause
    raise AssertionError("the default policy accepts a 3 s clip")
