"""Probe the input with ffprobe (JSON) and check it against the policy before any decoding."""

from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import Failed, InvalidInput
from .settings import TranscodeSettings

log = logging.getLogger(__name__)

UNREADABLE = "the file could not be read as a video: it is damaged, incomplete or not a video file"
PROBE_TIMEOUT_SECONDS = 30  # ffprobe only reads headers; a hang here is a broken file


@dataclass(frozen=True)
class ProbeResult:
    width: int  # coded size
    height: int
    rotation: int  # clockwise display rotation, 0/90/180/270
    sar: Fraction
    stream_index: int  # the video stream used (cover art streams are skipped)
    duration: float  # seconds of video
    start_time: float
    frame_rate: str  # avg_frame_rate as ffprobe reports it (e.g. "30000/1001")
    pix_fmt: str
    codec: str
    has_audio: bool

    @property
    def display_size(self) -> tuple[int, int]:
        """Width x height as a player shows it: pixel aspect applied, rotation honoured."""
        w = round(self.width * self.sar) if self.sar > 0 else self.width
        h = self.height
        return (h, w) if self.rotation in (90, 270) else (w, h)

    @property
    def short_side(self) -> int:
        # Lines of the picture whatever its orientation: a 1080x1920 phone video is "1080p".
        return min(self.width, self.height)


def _fraction(text: str | None) -> Fraction:
    try:
        num, den = (int(x) for x in (text or "").split(":"))
        return Fraction(num, den) if num > 0 and den > 0 else Fraction(1)
    except ValueError:
        return Fraction(1)


def _rotation(stream: dict) -> int:
    # ffprobe 5.1 reports the display matrix as side data (counter-clockwise degrees, e.g. -90
    # for a phone held upright); older files may still carry the legacy "rotate" tag (clockwise).
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(round(-float(side["rotation"]))) % 360
    tag = stream.get("tags", {}).get("rotate")
    return int(tag) % 360 if tag and tag.lstrip("-").isdigit() else 0


def mp4_truncation(path: Path) -> str | None:
    """Walk the top-level MP4 boxes: a box that claims more bytes than the file holds means the
    upload was cut short. Cheap (reads a few headers) and catches truncation that ffprobe misses
    when the moov box is at the front."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 8 or head[4:8] not in (b"ftyp", b"styp", b"moov", b"mdat", b"free", b"wide"):
            return None  # not an MP4/MOV: leave it to ffprobe
        pos = 0
        while pos + 8 <= size:
            f.seek(pos)
            box_size, box_type = struct.unpack(">I4s", f.read(8))
            if box_size == 1:  # 64-bit size follows
                box_size = struct.unpack(">Q", f.read(8))[0]
            elif box_size == 0:  # box extends to the end of the file
                return None
            if box_size < 8:
                return f"corrupt box header at byte {pos}"
            if pos + box_size > size:
                return f"'{box_type.decode('latin-1')}' box needs {pos + box_size} bytes, file has {size}"
            pos += box_size
    return None


def ffprobe_json(path: Path, ffprobe: str = "ffprobe") -> dict:
    cmd = [
        ffprobe,
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        str(path),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS)
    except FileNotFoundError as exc:
        raise Failed(f"ffprobe not found ({ffprobe})") from exc
    except subprocess.TimeoutExpired as exc:
        raise InvalidInput(UNREADABLE) from exc
    if proc.returncode != 0:
        log.info("ffprobe failed: %s", proc.stderr.strip()[-500:])
        raise InvalidInput(UNREADABLE)
    return json.loads(proc.stdout or "{}")


def probe(path: Path, ffprobe: str = "ffprobe") -> ProbeResult:
    """Read the input's streams; raise InvalidInput when it is not a usable video."""
    if not path.exists() or os.path.getsize(path) == 0:
        raise InvalidInput("the file is empty")
    truncated = mp4_truncation(path)
    if truncated:
        log.info("truncated MP4: %s", truncated)
        raise InvalidInput(
            "the file is incomplete (the upload was cut short); please upload it again"
        )
    info = ffprobe_json(path, ffprobe)
    streams = info.get("streams", [])
    # Cover art in an audio file shows up as a one-frame "video" stream: not a video.
    video = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    if not video:
        raise InvalidInput("no video stream: the file contains no video (audio only?)")
    v = video[0]
    width, height = int(v.get("width") or 0), int(v.get("height") or 0)
    if width <= 0 or height <= 0:
        raise InvalidInput(UNREADABLE)
    duration = _float(v.get("duration")) or _float(info.get("format", {}).get("duration"))
    if not duration or duration <= 0:
        raise InvalidInput("the video's length could not be determined: the file looks damaged")
    return ProbeResult(
        width=width,
        height=height,
        rotation=_rotation(v),
        stream_index=int(v.get("index", 0)),
        sar=_fraction(v.get("sample_aspect_ratio")),
        duration=duration,
        start_time=_float(v.get("start_time")) or 0.0,
        frame_rate=v.get("avg_frame_rate") or v.get("r_frame_rate") or "?",
        pix_fmt=v.get("pix_fmt") or "?",
        codec=v.get("codec_name") or "?",
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
    )


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_policy(p: ProbeResult, s: TranscodeSettings) -> None:
    """Fail fast, with a sentence a player understands, when the video is outside the policy."""
    if p.duration < s.min_duration_seconds:
        raise InvalidInput(
            f"duration {_secs(p.duration, s.min_duration_seconds)} s is below the "
            f"{_secs(s.min_duration_seconds)} s minimum"
        )
    if p.duration > s.max_duration_seconds:
        raise InvalidInput(
            f"duration {_secs(p.duration, s.max_duration_seconds)} s is above the "
            f"{_secs(s.max_duration_seconds)} s maximum"
        )
    if p.short_side < s.min_height:
        w, h = p.display_size
        raise InvalidInput(
            f"resolution {w}x{h} is below the {s.min_height}p minimum "
            f"(the short side has {p.short_side} pixels)"
        )


def _secs(x: float, limit: float | None = None) -> str:
    # "12" rather than "12.0"; decimals only when they matter ("19.5"), and enough of them that
    # a value never prints equal to the limit it broke ("19.98 s is below the 20 s minimum").
    for digits in (1, 2, 3):
        text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
        if limit is None or float(text) != limit:
            return text
    return text
