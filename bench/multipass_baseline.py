"""The multi-pass transcode that typical implementations use, for comparison with the job.

One ffmpeg run per step, in the shape measured in /work/shared/notes/ffmpeg.md: stream-copy trim;
scale to 720p at 30 fps (re-encode); strip the audio (copy); watermark (re-encode); two image
bumpers with silent audio (encode); add a silent track to the main part so the concat filter
can join audio too; concat filter (re-encode). The main clip is encoded three times. Every
encode uses the same x264 settings as the job (veryfast, CRF 23).

With --reencode-all the trim and the audio strip re-encode too (an accurate trim and a plain
`ffmpeg -i in -an out.mp4` do), i.e. every step re-encodes: five encodes of the main clip, the
first one at the source's 1080p60.

    python bench/multipass_baseline.py IN.mp4 OUT.mp4 [--reencode-all] [--logo PATH] [--work DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

LOGO = Path(__file__).resolve().parents[1] / "jobs" / "transcode" / "assets" / "logo.png"
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
FIT = (
    "scale=1280:720:force_original_aspect_ratio=decrease,"
    "pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
)


def ff(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def run(
    src: Path,
    out: Path,
    logo: Path,
    work: Path,
    clip: float = 30,
    bumper: float = 2.5,
    reencode_all: bool = False,
) -> None:
    trimmed, scaled, silent = work / "1_trim.mp4", work / "2_scaled.mp4", work / "3_noaudio.mp4"
    marked, main_a = work / "4_watermark.mp4", work / "6_main_audio.mp4"
    intro, outro = work / "5_intro.mp4", work / "5_outro.mp4"
    if reencode_all:
        ff("-i", str(src), "-t", str(clip), *X264, "-c:a", "aac", str(trimmed))
    else:
        ff("-i", str(src), "-t", str(clip), "-c", "copy", str(trimmed))
    ff("-i", str(trimmed), "-vf", f"{FIT},fps=30", *X264, "-c:a", "copy", str(scaled))
    ff("-i", str(scaled), "-an", *(X264 if reencode_all else ["-c:v", "copy"]), str(silent))
    ff(
        "-i",
        str(silent),
        "-i",
        str(logo),
        "-filter_complex",
        "[1]scale=-2:96,colorchannelmixer=aa=0.7[wm];[0][wm]overlay=W-w-24:H-h-24",
        *X264,
        str(marked),
    )
    for path in (intro, outro):
        ff(
            "-loop",
            "1",
            "-framerate",
            "30",
            "-t",
            str(bumper),
            "-i",
            str(logo),
            "-f",
            "lavfi",
            "-t",
            str(bumper),
            "-i",
            "anullsrc=r=48000:cl=stereo",
            "-filter_complex",
            "[0]scale=-2:320,pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=30[v]",
            "-map",
            "[v]",
            "-map",
            "1:a",
            *X264,
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        )
    ff(
        "-i",
        str(marked),
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=48000:cl=stereo",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-shortest",
        str(main_a),
    )
    ff(
        "-i",
        str(intro),
        "-i",
        str(main_a),
        "-i",
        str(outro),
        "-filter_complex",
        "[0:v][0:a][1:v][1:a][2:v][2:a]concat=n=3:v=1:a=1[v][a];[a]anullsink",
        "-map",
        "[v]",
        *X264,
        "-movflags",
        "+faststart",
        str(out),
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--logo", type=Path, default=LOGO)
    ap.add_argument("--work", type=Path, default=None, help="keep intermediates here")
    ap.add_argument(
        "--reencode-all", action="store_true", help="trim and audio strip re-encode too"
    )
    a = ap.parse_args()
    if a.work:
        a.work.mkdir(parents=True, exist_ok=True)
        run(a.input, a.output, a.logo, a.work, reencode_all=a.reencode_all)
    else:
        with tempfile.TemporaryDirectory(prefix="multipass-") as tmp:
            run(a.input, a.output, a.logo, Path(tmp), reencode_all=a.reencode_all)


if __name__ == "__main__":
    main()
