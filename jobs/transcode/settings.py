"""Job settings: one class, read from the environment (names in docs/architecture.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The packaged logo; operators replace it with VIDPIPE_LOGO_PATH (a PNG with alpha).
DEFAULT_LOGO = Path(__file__).resolve().parent / "assets" / "logo.png"


class TranscodeSettings(BaseSettings):
    """Per-run parameters (set by the state machine as container overrides) and the policy."""

    model_config = SettingsConfigDict(env_prefix="VIDPIPE_", extra="ignore")

    # Per run. Optional so that the local command (--input/--output) needs none of them.
    video_id: str | None = None
    attempt: int = 1
    bucket: str | None = None
    input_key: str | None = None
    output_prefix: str | None = None
    task_token: str | None = None
    heartbeat_seconds: float = Field(10.0, gt=0)
    # Progress messages (`video.progress`) go to the status queue at most this often; none
    # without a queue URL (set by the state machine's container overrides).
    status_queue_url: str | None = None
    progress_interval_seconds: float = Field(5.0, gt=0)
    # The task's size for the cost estimate when the ECS task metadata cannot tell (the local
    # runner): the local task definition's 1 vCPU and 2 GB.
    task_vcpu: float = Field(1.0, gt=0)
    task_memory_gb: float = Field(2.0, gt=0)

    # Policy (platform defaults, see the spec's "Processing rules").
    max_clip_seconds: float = Field(30.0, gt=0)
    min_duration_seconds: float = Field(20.0, ge=0)
    max_duration_seconds: float = Field(60.0, gt=0)
    min_height: int = Field(1080, ge=0)  # applied to the short side after rotation
    bumper_seconds: float = Field(2.5, ge=0)
    logo_path: Path = DEFAULT_LOGO
    x264_preset: str = "veryfast"
    x264_crf: int = Field(23, ge=0, le=51)
    output_fps: int = Field(30, gt=0)

    # ffmpeg bounds: limit = max(min, factor * output seconds). 4K on 2 cores runs at ~1x
    # realtime, 1080p60 at ~2.5x, so factor 4 leaves room for a busy host without letting a
    # stuck ffmpeg (the ffmpeg 5.1 concat hang) run for ever.
    ffmpeg_timeout_factor: float = Field(4.0, gt=0)
    ffmpeg_timeout_min_seconds: float = Field(60.0, ge=0)
    ffmpeg: str = "ffmpeg"  # binary names or paths; PATH lookup by default
    ffprobe: str = "ffprobe"
    work_dir: Path | None = None  # scratch space for input/output; a temp dir by default

    @model_validator(mode="after")
    def _check_policy(self) -> TranscodeSettings:
        if 2 * self.bumper_seconds > 5.0:
            raise ValueError(
                "intro + outro bumpers must add at most 5 s (VIDPIPE_BUMPER_SECONDS <= 2.5)"
            )
        if self.min_duration_seconds > self.max_duration_seconds:
            raise ValueError("VIDPIPE_MIN_DURATION_SECONDS is above VIDPIPE_MAX_DURATION_SECONDS")
        return self

    @property
    def output_key(self) -> str:
        return f"{self.output_prefix or ''}clip.mp4"

    @property
    def poster_key(self) -> str:
        return f"{self.output_prefix or ''}poster.jpg"

    def require_job_params(self) -> None:
        """Job mode needs the per-run parameters; say which are missing."""
        missing = [
            f"VIDPIPE_{name.upper()}"
            for name in ("video_id", "bucket", "input_key", "output_prefix", "task_token")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError("missing environment: " + ", ".join(missing))
