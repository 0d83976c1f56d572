"""Benchmark the transcode job against the multi-pass baseline and the decode+encode floor.

    python bench/transcode.py [--input IN.mp4] [--seconds 45] [--work DIR]

Without --input it generates a realistic input once (1080p60, motion + noise, AAC audio,
~12 Mbit/s) in the work directory. Then, one run each, side by side on the same machine:
  job       `python -m jobs.transcode --input IN --output OUT` (the whole command: Python, ffprobe,
            the single ffmpeg pass and the poster)
  baseline  a: `python bench/multipass_baseline.py IN OUT` (every ffmpeg step; stream-copy trim
            and audio strip, as in /work/shared/notes/ffmpeg.md); a': the same with
            `--reencode-all` (every step re-encodes)
  floor     (b1) decode the first 30 s and scale to 720p30, no encode; (b2) encode 35 s of raw
            720p30 frames (2.5 s black + the 30 s main + 2.5 s black, read from a raw file in RAM)
            with the job's x264 settings. The floor is b1 + b2.
Wall time, CPU seconds and peak RSS come from wait4() on each command (children included: Linux
accumulates reaped descendants into the rusage). SSIM compares the main part of each output with
the source's first 30 s scaled to 720p30.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jobs.transcode.probe import ffprobe_json  # noqa: E402

FPS, BUMPER_FRAMES, CLIP = 30, 75, 30.0


@dataclass
class Measure:
    name: str
    wall: float
    cpu: float
    rss_mb: float
    out_seconds: float | None = None
    ssim: float | None = None


def measured(name: str, cmd: list[str], **kw) -> Measure:
    start = time.monotonic()
    proc = subprocess.Popen(cmd, **kw)
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}): {' '.join(cmd)}")
    return Measure(name, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024)


def ffmpeg(*args: str) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args]


def _double(rate: str) -> str:
    """VBV buffer of two seconds: '12M' -> '24M'."""
    return f"{2 * float(rate.rstrip('kKM')):g}{rate[-1] if rate[-1] in 'kKM' else ''}"


def generate(path: Path, seconds: float, noise: int, bitrate: str) -> None:
    print(
        f"generating {seconds:g} s 1080p60 input (noise {noise}, {bitrate}bit/s) at {path} ...",
        flush=True,
    )
    subprocess.run(
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s=1920x1080:r=60:d={seconds},noise=alls={noise}:allf=t",
            "-f",
            "lavfi",
            "-i",
            f"sine=f=440:d={seconds}",
            # High profile with CABAC and B-frames, like a phone's encoder (ultrafast output would
            # be unrealistically cheap to decode).
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "high",
            "-b:v",
            bitrate,
            "-maxrate",
            bitrate,
            "-bufsize",
            _double(bitrate),
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-shortest",
            str(path),
        ),
        check=True,
    )


def frames(path: Path) -> int:
    return int(
        next(s for s in ffprobe_json(path)["streams"] if s["codec_type"] == "video")["nb_frames"]
    )


def ssim(output: Path, source: Path, first_main_frame: int, n: int) -> float:
    """SSIM of n output frames from first_main_frame vs the source's first n frames at 720p30."""
    graph = (
        f"[0:v]trim=start_frame={first_main_frame}:end_frame={first_main_frame + n},"
        "setpts=PTS-STARTPTS[a];"
        f"[1:v]fps={FPS},scale=1280:720:flags=lanczos,trim=end_frame={n},setpts=PTS-STARTPTS[b];"
        "[a][b]ssim"
    )
    err = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-i",
            str(output),
            "-t",
            str(n / FPS + 1),
            "-i",
            str(source),
            "-filter_complex",
            graph,
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return float(re.findall(r"All:([0-9.]+)", err)[-1])


def ssim_main(output: Path, source: Path, nominal_first: int) -> tuple[float, int]:
    """SSIM of the main part (30 s). The first main frame is found by trying the nominal one and
    its neighbours on 3 s (the multi-pass concat pads a segment by a frame when its audio is
    longer than its video), so that neither side is penalised for a misalignment."""
    first = max(
        range(nominal_first - 1, nominal_first + 3), key=lambda k: ssim(output, source, k, 90)
    )
    return ssim(output, source, first, int(CLIP * FPS)), first


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--input", type=Path)
    ap.add_argument("--seconds", type=float, default=45)
    ap.add_argument(
        "--noise", type=int, default=8, help="temporal noise strength of the generated input"
    )
    ap.add_argument("--bitrate", default="12M", help="video bitrate of the generated input")
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-transcode-"))
    work.mkdir(parents=True, exist_ok=True)
    src = a.input or work / f"input_1080p60_n{a.noise}_{a.bitrate}.mp4"
    if not src.exists():
        generate(src, a.seconds, a.noise, a.bitrate)
    info = ffprobe_json(src)
    v = next(s for s in info["streams"] if s["codec_type"] == "video")
    print(
        f"input: {src} {v['width']}x{v['height']} {v['avg_frame_rate']} fps, "
        f"{float(info['format']['duration']):.1f} s, {src.stat().st_size / 1e6:.0f} MB, "
        f"{int(info['format']['bit_rate']) / 1e6:.1f} Mbit/s",
        flush=True,
    )
    print(f"machine: {os.cpu_count()} cores, load average before: {os.getloadavg()}", flush=True)
    rows: list[Measure] = []
    devnull = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}

    job_out = work / "job.mp4"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    m = measured(
        "job: single pass (python -m jobs.transcode)",
        [sys.executable, "-m", "jobs.transcode", "--input", str(src), "--output", str(job_out)],
        cwd=REPO,
        env=env,
        **devnull,
    )
    m.out_seconds = frames(job_out) / FPS
    m.ssim, first = ssim_main(job_out, src, BUMPER_FRAMES)
    print(f"  job: main part starts at frame {first}", flush=True)
    rows.append(m)
    print(f"  {m}", flush=True)

    for flag, label in (
        ([], "baseline a: multi-pass, copy trim/strip (notes' shape)"),
        (["--reencode-all"], "baseline a': multi-pass, every step re-encodes"),
    ):
        base_out = work / f"baseline{'_all' if flag else ''}.mp4"
        steps = work / f"baseline{'_all' if flag else ''}_steps"
        m = measured(
            label,
            [
                sys.executable,
                str(REPO / "bench" / "multipass_baseline.py"),
                str(src),
                str(base_out),
                "--work",
                str(steps),
                *flag,
            ],
            **devnull,
        )
        m.out_seconds = frames(base_out) / FPS
        m.ssim, first = ssim_main(base_out, src, frames(steps / "5_intro.mp4"))
        print(f"  {label}: main part starts at frame {first}", flush=True)
        rows.append(m)
        print(f"  {m}", flush=True)

    # Floor. b1 is measured with a null sink; the raw frames for b2 come from a separate,
    # unmeasured decode into RAM (/dev/shm) so that b2 measures the encoder alone.
    fit = "fps=30,scale=1280:720"
    b1 = measured(
        "floor b1: decode 30 s + scale to 720p30 (no encode)",
        ffmpeg("-t", str(CLIP), "-an", "-i", str(src), "-vf", fit, "-f", "null", "-"),
        **devnull,
    )
    rows.append(b1)
    print(f"  {b1}", flush=True)
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else work
    raw = shm / f"bench-transcode-{os.getpid()}.yuv"
    try:
        subprocess.run(
            ffmpeg(
                "-t",
                str(CLIP),
                "-an",
                "-i",
                str(src),
                "-vf",
                f"{fit},tpad=start={BUMPER_FRAMES}:stop={BUMPER_FRAMES}:color=black",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                str(raw),
            ),
            check=True,
        )
        b2 = measured(
            "floor b2: encode 35 s of raw 720p30 (x264 veryfast crf 23)",
            ffmpeg(
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "-s",
                "1280x720",
                "-r",
                "30",
                "-i",
                str(raw),
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "23",
                "-f",
                "mp4",
                "-movflags",
                "+faststart",
                str(work / "floor.mp4"),
            ),
            **devnull,
        )
    finally:
        raw.unlink(missing_ok=True)
    rows.append(b2)
    print(f"  {b2}", flush=True)
    floor = Measure("floor b1 + b2", b1.wall + b2.wall, b1.cpu + b2.cpu, max(b1.rss_mb, b2.rss_mb))
    rows.append(floor)

    job, base, base_all = rows[0], rows[1], rows[2]
    print(f"\nload average after: {os.getloadavg()}\n")
    print("| run | wall s | CPU s | peak RSS MB | output s | realtime x | SSIM main |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        rt = f"{r.out_seconds / r.wall:.2f}" if r.out_seconds else ""
        out_s = f"{r.out_seconds:.2f}" if r.out_seconds else ""
        ssim = f"{r.ssim:.4f}" if r.ssim is not None else ""
        print(
            f"| {r.name} | {r.wall:.1f} | {r.cpu:.1f} | {r.rss_mb:.0f} | {out_s} | {rt} | {ssim} |"
        )
    print()
    print(
        f"speed-up vs baseline a (wall): {base.wall / job.wall:.2f}x, CPU {base.cpu / job.cpu:.2f}x"
        "  (target >= 2.5x, aim 3x)"
    )
    print(
        f"speed-up vs baseline a' (wall): {base_all.wall / job.wall:.2f}x, "
        f"CPU {base_all.cpu / job.cpu:.2f}x"
    )
    print(f"CPU vs floor: {job.cpu / floor.cpu:.2f}x  (target <= 1.1x)")
    print(f"peak RSS: {job.rss_mb:.0f} MB  (target < 256 MB)")
    print(
        f"SSIM job {job.ssim:.4f} vs baseline a {base.ssim:.4f}, a' {base_all.ssim:.4f}"
        "  (target: job >= baseline)"
    )
    print(f"work dir: {work}")


if __name__ == "__main__":
    main()
