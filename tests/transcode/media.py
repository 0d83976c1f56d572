"""Test-time media: generate inputs with ffmpeg, inspect outputs with ffprobe and raw pixels."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

W, H = 1280, 720


# Motion (testsrc2), noise over time, desaturated so that any orange pixel in an output comes
# from the logo; luma lifted so that no part of the picture is black (the bars must be ours).
def source(size: str, rate: str, seconds: float, extra: str = "") -> str:
    chain = (
        f"testsrc2=s={size}:r={rate}:d={seconds},noise=alls=6:allf=t,hue=s=0,lutyuv=y=60+val*0.75"
    )
    return chain + ("," + extra if extra else "")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=180)


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def top_level_boxes(path: Path) -> list[str]:
    boxes, data = [], path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return boxes


def frames_rgb(path: Path, indices: list[int]) -> dict[int, bytes]:
    """Decode the given frame numbers of a 1280x720 output as raw RGB."""
    expr = "+".join(f"eq(n\\,{i})" for i in sorted(indices))
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-vf",
            f"select='{expr}'",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    size = W * H * 3
    assert len(raw) == size * len(indices), f"got {len(raw) / size} frames, wanted {len(indices)}"
    return {i: raw[k * size : (k + 1) * size] for k, i in enumerate(sorted(indices))}


def pixels(frame: bytes, x0: int, y0: int, x1: int, y1: int):
    for y in range(y0, y1):
        row = frame[(y * W + x0) * 3 : (y * W + x1) * 3]
        for k in range(0, len(row), 3):
            yield row[k], row[k + 1], row[k + 2]


def is_orange(r: int, g: int, b: int) -> bool:
    return r > 150 and 60 < g < 195 and b < 125 and r - b > 90


def orange_fraction(frame: bytes, box: tuple[int, int, int, int]) -> float:
    px = list(pixels(frame, *box))
    return sum(is_orange(*p) for p in px) / len(px)


def dark_fraction(frame: bytes, box: tuple[int, int, int, int], threshold: int = 24) -> float:
    px = list(pixels(frame, *box))
    return sum(max(p) <= threshold for p in px) / len(px)


def mean_luma(frame: bytes, box: tuple[int, int, int, int]) -> float:
    px = list(pixels(frame, *box))
    return sum((r + g + b) / 3 for r, g, b in px) / len(px)


def column_is_dark(frame: bytes, x: int, y0: int, y1: int, threshold: int = 24) -> bool:
    return all(
        max(frame[(y * W + x) * 3 : (y * W + x) * 3 + 3]) <= threshold for y in range(y0, y1)
    )
