"""The real ffmpeg on generated inputs; outputs checked with ffprobe and pixels."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import pytest

from jobs.transcode import InvalidInput, TranscodeSettings, job, process_file
from jobs.transcode.graph import WATERMARK_HEIGHT, WATERMARK_MARGIN

from .conftest import small_policy
from .media import (
    H,
    W,
    column_is_dark,
    dark_fraction,
    ffprobe,
    frames_rgb,
    mean_luma,
    orange_fraction,
    top_level_boxes,
)

# Boots a local cloud, ffmpeg or servers: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow

FPS = 30
CENTRE = (W // 2 - 120, H // 2 - 120, W // 2 + 120, H // 2 + 120)  # inside the bumper logo
CORNERS = [(0, 0, 200, 150), (W - 200, 0, W, 150), (0, H - 150, 200, H)]
WATERMARK = (
    W - WATERMARK_MARGIN - WATERMARK_HEIGHT,
    H - WATERMARK_MARGIN - WATERMARK_HEIGHT,
    W - WATERMARK_MARGIN,
    H - WATERMARK_MARGIN,
)
TOP_LEFT = (
    WATERMARK_MARGIN,
    WATERMARK_MARGIN,
    WATERMARK_MARGIN + WATERMARK_HEIGHT,
    WATERMARK_MARGIN + WATERMARK_HEIGHT,
)


def transcode(src: Path, tmp_path: Path, settings: TranscodeSettings, **kw):
    out, poster = tmp_path / "out.mp4", tmp_path / "poster.jpg"
    start = time.monotonic()
    result = process_file(src, out, poster, settings, **kw)
    elapsed = time.monotonic() - start
    return out, poster, result, elapsed


def assert_output_rules(out: Path, poster: Path, main_seconds: float, s: TranscodeSettings) -> dict:
    """Every output rule that ffprobe and the file layout can show."""
    info = ffprobe(out)
    streams = info["streams"]
    assert [st["codec_type"] for st in streams] == ["video"], "exactly one stream, no audio"
    v = streams[0]
    assert v["codec_name"] == "h264"
    assert (v["width"], v["height"]) == (W, H)
    assert v.get("sample_aspect_ratio", "1:1") == "1:1"
    assert v.get("display_aspect_ratio", "16:9") == "16:9"
    assert v["pix_fmt"] == "yuv420p"
    assert v["r_frame_rate"] == v["avg_frame_rate"] == f"{FPS}/1", "constant frame rate"
    bumpers = 2 * round(s.bumper_seconds * FPS) / FPS
    assert bumpers <= 5.0
    expected = main_seconds + bumpers
    frames = int(v["nb_frames"])
    assert abs(frames / FPS - expected) <= 1 / FPS + 1e-9, (frames, expected)
    assert abs(float(info["format"]["duration"]) - expected) <= 1 / FPS + 1e-3
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), f"not faststart: {boxes}"
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff", "poster is a JPEG"
    p = ffprobe(poster)["streams"][0]
    assert (p["width"], p["height"]) == (W, H)
    return v


def assert_bumpers_and_watermark(out: Path, main_frames: int, s: TranscodeSettings) -> None:
    """Logo on black in the bumpers (and only there), watermark in the main part (only there),
    checked on the frames either side of both boundaries."""
    b = round(s.bumper_seconds * FPS)
    intro_last, main_first, main_last, outro_first = b - 1, b, b + main_frames - 1, b + main_frames
    frames = frames_rgb(
        out, [0, intro_last, main_first, main_frames // 2 + b, main_last, outro_first]
    )
    for i in (0, intro_last, outro_first):
        f = frames[i]
        assert orange_fraction(f, CENTRE) > 0.3, f"frame {i}: no logo in the bumper"
        for box in CORNERS + [WATERMARK]:
            assert dark_fraction(f, box) > 0.99, f"frame {i}: bumper background not black at {box}"
    for i in (main_first, main_frames // 2 + b, main_last):
        f = frames[i]
        assert orange_fraction(f, WATERMARK) > 0.25, f"frame {i}: watermark missing"
        assert orange_fraction(f, TOP_LEFT) < 0.01, f"frame {i}: orange where the source has none"
        assert orange_fraction(f, CENTRE) < 0.01, f"frame {i}: bumper logo over the main part"
        assert dark_fraction(f, CENTRE) < 0.05, f"frame {i}: main part is black"


def test_landscape_1080p60_with_audio_full_policy(inputs, tmp_path):
    s = TranscodeSettings()  # the platform defaults: 20-60 s, 1080p, 30 s clip, 2.5 s bumpers
    seen = []
    out, poster, r, elapsed = transcode(
        inputs.landscape_1080p60, tmp_path, s, on_progress=seen.append
    )
    assert_output_rules(out, poster, 22.0, s)
    assert_bumpers_and_watermark(out, 22 * FPS, s)
    # The progress hook: increasing percentages ending at 100.
    assert seen and seen == sorted(seen) and seen[-1] == 100 and len(seen) >= 2
    assert r.width == W and r.height == H and r.size_bytes == out.stat().st_size
    assert r.ffmpeg_cpu_seconds > 0 and r.ffmpeg_wall_seconds <= elapsed
    assert abs(r.duration_seconds - 27.0) <= 1 / FPS + 1e-3
    assert "tpad=" in r.command and "concat" not in r.command


def test_trims_to_max_clip_seconds(inputs, tmp_path):
    s = small_policy(max_clip_seconds=3, bumper_seconds=1)
    out, poster, _, _ = transcode(inputs.short_720p, tmp_path, s)  # 5 s input
    assert_output_rules(out, poster, 3.0, s)
    assert_bumpers_and_watermark(out, 3 * FPS, s)


@pytest.mark.parametrize(
    "name, main_seconds",
    [
        ("uhd", 2.5),
        ("ntsc", 4.0),
        ("vfr", 4.0),
        ("ten_bit", 3.0),
        ("odd_size", 3.0),
        ("late_start", 3.0),
    ],
)
def test_inputs_meet_output_rules(inputs, tmp_path, name, main_seconds):
    s = small_policy(bumper_seconds=1)
    src = getattr(inputs, name)
    if name == "vfr":
        v = ffprobe(src)["streams"][0]
        assert v["r_frame_rate"] != v["avg_frame_rate"], "the input is really variable frame rate"
    if name == "late_start":
        assert float(ffprobe(src)["streams"][0]["start_time"]) >= 4.9
    out, poster, _, elapsed = transcode(src, tmp_path, s)
    assert elapsed < 60
    assert_output_rules(out, poster, main_seconds, s)
    # A stream starting at 5 s must not turn into 5 s of black: the first main frame has content.
    main_frames = int(ffprobe(out)["streams"][0]["nb_frames"]) - 2 * FPS
    assert_bumpers_and_watermark(out, main_frames, s)


def test_non_square_pixels_fill_the_frame(inputs, tmp_path):
    # 720x540 with 4:3 pixels is 16:9 on screen: it must fill 1280x720 without bars. Ignoring
    # the pixel aspect would give 960x720 with 160 px bars on each side.
    s = small_policy(bumper_seconds=1)
    out, poster, _, _ = transcode(inputs.anamorphic, tmp_path, s)
    assert_output_rules(out, poster, 3.0, s)
    f = frames_rgb(out, [FPS + 45])[FPS + 45]
    for x in (4, 100, W - 101, W - 5):
        assert not column_is_dark(f, x, 0, 560), f"column {x} is a black bar"


@pytest.mark.parametrize("name", ["portrait", "portrait_rotated"])
def test_portrait_is_pillarboxed_not_stretched(inputs, tmp_path, name):
    s = small_policy(bumper_seconds=1)
    src = getattr(inputs, name)
    if name == "portrait_rotated":
        v = ffprobe(src)["streams"][0]
        assert (v["width"], v["height"]) == (1920, 1080)  # stored landscape, displayed portrait
    out, poster, _, _ = transcode(src, tmp_path, s)
    assert_output_rules(out, poster, 3.0, s)
    f = frames_rgb(out, [FPS + 45])[FPS + 45]
    rows = (0, 560)  # above the watermark, which sits in the right bar
    content = [x for x in range(W) if not column_is_dark(f, x, *rows)]
    # 1080x1920 scaled to 720 px high is 405 px wide (406, even): centred, not stretched.
    assert 400 <= len(content) <= 410, len(content)
    left, right = content[0], content[-1]
    assert right - left + 1 == len(content), "content is one block"
    assert abs((left + right) / 2 - W / 2) <= 2, "content is centred"
    assert all(column_is_dark(f, x, 0, H) for x in range(0, left - 2, 7)), "left bar black"
    # Rotation honoured: the white quarter is at the top, the dark grey one at the bottom.
    top = mean_luma(f, (left + 10, 10, right - 10, 160))
    bottom = mean_luma(f, (left + 10, H - 160, right - 10, H - 10))
    assert top > 200 and 40 < bottom < 90, (top, bottom)


@pytest.mark.parametrize(
    "name, settings, reason",
    [
        ("too_short", {}, "duration 1 s is below the 2 s minimum"),
        ("short_720p", {"max_duration_seconds": 4}, "duration 5 s is above the 4 s maximum"),
        ("ntsc", {"min_height": 1080}, "resolution 640x360 is below the 1080p minimum"),
        ("audio_only", {}, "no video stream"),
        ("truncated", {}, "the file is incomplete"),
        ("truncated_faststart", {}, "the file is incomplete"),
        ("random_bytes", {}, "could not be read as a video"),
    ],
)
def test_invalid_inputs_fail_fast_with_a_reason(
    inputs, tmp_path, monkeypatch, name, settings, reason
):
    encodes = []
    monkeypatch.setattr(job, "run_ffmpeg", lambda *a, **kw: encodes.append(a))
    s = small_policy(**settings)
    with pytest.raises(InvalidInput) as exc:
        transcode(getattr(inputs, name), tmp_path, s)
    assert reason in exc.value.cause
    assert exc.value.error == "Transcode.InvalidInput"
    assert encodes == [], "rejected before transcoding"
    assert not (tmp_path / "out.mp4").exists()


def test_full_policy_rejects_a_short_clip(inputs, tmp_path):
    with pytest.raises(InvalidInput, match="duration 5 s is below the 20 s minimum"):
        transcode(inputs.short_720p, tmp_path, TranscodeSettings())


def test_portrait_1080x1920_counts_as_1080p(inputs, tmp_path):
    # The height policy applies to the short side: a phone's 1080x1920 passes min_height=1080.
    s = small_policy(min_height=1080, bumper_seconds=1)
    out, poster, _, _ = transcode(inputs.portrait_rotated, tmp_path, s)
    assert_output_rules(out, poster, 3.0, s)


def test_sar_fraction_helper_is_consistent():
    from jobs.transcode.probe import _fraction

    assert _fraction("4:3") == Fraction(4, 3) and _fraction("0:1") == 1 and _fraction(None) == 1
