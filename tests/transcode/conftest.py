"""Fixtures for the transcode job: inputs generated once per session with the real ffmpeg."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from jobs.transcode.settings import TranscodeSettings

from .media import ffmpeg, source


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """Settings read VIDPIPE_* from the environment: start every test from the defaults."""
    for name in list(os.environ):
        if name.startswith("VIDPIPE_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def _require_ffmpeg():
    # The job needs the real binaries: a missing ffmpeg is a failure, never a skip.
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} required on PATH for tests/transcode", pytrace=False)


def small_policy(**overrides) -> TranscodeSettings:
    """The platform policy scaled down so that short, small clips are valid inputs."""
    values = {"min_duration_seconds": 2, "min_height": 360, "ffmpeg_timeout_min_seconds": 60}
    values.update(overrides)
    return TranscodeSettings(**values)


class Inputs:
    """Generates each input on first use and keeps it for the session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, Path] = {}

    def __getattr__(self, name: str) -> Path:
        if name.startswith("_") or name not in MAKERS:
            raise AttributeError(name)
        if name not in self.cache:
            path = self.root / f"{name}.mp4"
            MAKERS[name](path, self)
            self.cache[name] = path
        return self.cache[name]


def _landscape_1080p60(p: Path, _):
    # Realistic case at full policy: 22 s 1080p60 with AAC audio (~25 MB).
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("1920x1080", "60", 22),
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=22",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "26",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-shortest",
        str(p),
    )


def _short_720p(p: Path, _):
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("1280x720", "30", 5),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


PORTRAIT = "drawbox=x=0:y=0:w=iw:h=ih/4:color=white:t=fill,drawbox=x=0:y=ih*3/4:w=iw:h=ih/4:color=0x404040:t=fill"


def _portrait(p: Path, _):
    # Upright phone video: white top quarter, dark grey bottom quarter (to check orientation).
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("1080x1920", "30", 3, PORTRAIT),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


def _portrait_rotated(p: Path, inputs: Inputs):
    # What a phone writes: landscape frames (the picture turned counter-clockwise) plus a display
    # matrix saying "turn 90 degrees clockwise" (ffprobe: rotation=-90).
    stored = inputs.root / "portrait_stored.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("1080x1920", "30", 3, PORTRAIT + ",transpose=2"),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(stored),
    )
    ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=-90", str(p))


def _uhd(p: Path, _):
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("3840x2160", "30", 2.5),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "30",
        str(p),
    )


def _ntsc(p: Path, _):
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("640x360", "30000/1001", 4),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


def _vfr(p: Path, _):
    # Irregular frame intervals (between ~9 and ~57 ms), written as is.
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("640x360", "30", 4, "setpts='(N/30+0.012*sin(N))/TB'"),
        "-fps_mode",
        "passthrough",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


def _ten_bit(p: Path, _):
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("640x360", "30", 3),
        "-pix_fmt",
        "yuv420p10le",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


def _odd_size(p: Path, _):
    # Odd width and height need a non-subsampled pixel format in H.264.
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("641x361", "30", 3),
        "-pix_fmt",
        "yuv444p",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


def _anamorphic(p: Path, _):
    # 720x540 stored, 4:3 pixels: displays as 16:9 (like HDV 1440x1080).
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("720x540", "30", 3, "setsar=4/3"),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


def _late_start(p: Path, _):
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("640x360", "30", 3),
        "-output_ts_offset",
        "5",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


def _too_short(p: Path, _):
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source("640x360", "30", 1),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(p),
    )


def _audio_only(p: Path, _):
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=3", "-c:a", "aac", str(p))


def _truncated(p: Path, inputs: Inputs):
    # Default MP4 layout (moov at the end): cutting the file loses the index.
    data = inputs.short_720p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _truncated_faststart(p: Path, inputs: Inputs):
    # moov at the front: headers intact, media data cut short.
    full = inputs.root / "faststart_full.mp4"
    ffmpeg("-i", str(inputs.short_720p), "-c", "copy", "-movflags", "+faststart", str(full))
    data = full.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _random_bytes(p: Path, _):
    p.write_bytes(os.urandom(256 * 1024))


MAKERS = {
    "landscape_1080p60": _landscape_1080p60,
    "short_720p": _short_720p,
    "portrait": _portrait,
    "portrait_rotated": _portrait_rotated,
    "uhd": _uhd,
    "ntsc": _ntsc,
    "vfr": _vfr,
    "ten_bit": _ten_bit,
    "odd_size": _odd_size,
    "anamorphic": _anamorphic,
    "late_start": _late_start,
    "too_short": _too_short,
    "audio_only": _audio_only,
    "truncated": _truncated,
    "truncated_faststart": _truncated_faststart,
    "random_bytes": _random_bytes,
}


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("inputs"))
