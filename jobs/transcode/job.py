"""The transcode itself (`process_file`, no AWS) and the ECS job around it (`run_job`)."""

from __future__ import annotations

import contextlib
import logging
import shlex
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import Failed, InvalidInput, TranscodeError, Transient
from .graph import build_command, plan_for, poster_command, time_limit
from .probe import check_policy, ffprobe_json, probe
from .runner import Cancellation, ProgressHook, ffmpeg_version, run_ffmpeg
from .settings import TranscodeSettings

log = logging.getLogger(__name__)
POSTER_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class TranscodeResult:
    duration_seconds: float
    width: int
    height: int
    size_bytes: int
    ffmpeg_wall_seconds: float
    ffmpeg_cpu_seconds: float
    ffmpeg_peak_rss_mb: float
    command: str


def process_file(
    input_path: Path,
    output_path: Path,
    poster_path: Path,
    settings: TranscodeSettings,
    *,
    on_progress: ProgressHook | None = None,
    cancellation: Cancellation | None = None,
    apply_policy: bool = True,
) -> TranscodeResult:
    """Probe, check the policy, transcode in one ffmpeg run, verify the output."""
    s = settings
    log.info("ffmpeg binary: %s", ffmpeg_version(s.ffmpeg))
    p = probe(Path(input_path), s.ffprobe)
    log.info(
        "input: %s %dx%d (display %dx%d, rotation %d, SAR %s) %s fps %s, %.2f s, start %.3f s, audio %s",
        p.codec,
        p.width,
        p.height,
        *p.display_size,
        p.rotation,
        p.sar,
        p.frame_rate,
        p.pix_fmt,
        p.duration,
        p.start_time,
        "yes" if p.has_audio else "no",
    )
    if apply_policy:
        check_policy(p, s)
    if not Path(s.logo_path).is_file():
        raise Failed(f"logo not found at {s.logo_path} (VIDPIPE_LOGO_PATH)")
    plan = plan_for(p, s)
    cmd = build_command(p, s, plan, Path(input_path), Path(output_path))
    command = shlex.join(cmd)
    log.info("ffmpeg command: %s", command)
    limit = time_limit(plan, s)
    run = run_ffmpeg(
        cmd,
        time_limit=limit,
        total_seconds=plan.total_seconds,
        on_progress=on_progress,
        cancellation=cancellation,
    )
    duration, width, height = _verify_output(Path(output_path), plan, s)
    _extract_poster(Path(output_path), Path(poster_path), plan, s)
    return TranscodeResult(
        duration_seconds=round(duration, 3),
        width=width,
        height=height,
        size_bytes=Path(output_path).stat().st_size,
        ffmpeg_wall_seconds=round(run.wall_seconds, 3),
        ffmpeg_cpu_seconds=round(run.cpu_seconds, 3),
        ffmpeg_peak_rss_mb=round(run.max_rss_kb / 1024, 1),
        command=command,
    )


def _extract_poster(output: Path, poster: Path, plan, s: TranscodeSettings) -> None:
    cmd = poster_command(s, plan, output, poster)
    log.info("poster command: %s", shlex.join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=POSTER_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        raise Failed("extracting the poster took too long") from exc
    if proc.returncode != 0 or not poster.is_file() or poster.stat().st_size == 0:
        raise Failed(f"extracting the poster failed: {proc.stderr.strip()[-300:]}")


def _verify_output(output: Path, plan, s: TranscodeSettings) -> tuple[float, int, int]:
    """ffmpeg exits 0 on an input whose data stops early (decoder errors are warnings): check
    that the whole main part came out before calling it a success."""
    try:
        info = ffprobe_json(output, s.ffprobe)
    except InvalidInput as exc:
        raise Failed("ffmpeg produced an unreadable output") from exc
    video = [st for st in info.get("streams", []) if st.get("codec_type") == "video"]
    if not video:
        raise Failed("ffmpeg produced no video")
    v = video[0]
    frames = int(v.get("nb_frames") or 0)
    main_frames = frames - 2 * plan.bumper_frames
    if main_frames < plan.main_frames - plan.fps:  # more than a second missing
        raise InvalidInput(
            f"only {max(main_frames, 0) / plan.fps:.1f} s of the expected "
            f"{plan.main_seconds:.1f} s could be decoded: the file looks damaged or incomplete"
        )
    duration = float(info.get("format", {}).get("duration") or frames / plan.fps)
    return duration, int(v["width"]), int(v["height"])


@contextlib.contextmanager
def stop_on_signals(cancellation: Cancellation):
    """SIGTERM (ECS stopping the task) / SIGINT: kill ffmpeg at once, end as a transient failure
    (the video was not processed; another attempt can do it)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def handler(signum, _frame):
        name = signal.Signals(signum).name
        log.warning("%s received: stopping", name)
        cancellation.cancel(
            Transient(f"the task was stopped ({name}) before the video was processed")
        )

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_job(
    settings: TranscodeSettings, *, on_progress: ProgressHook | None = None, reporter=None
) -> int:
    """The ECS task: S3 in, transcode, S3 out, report to Step Functions. Returns the exit code:
    0 once the outcome is reported (success or failure), 1 if reporting failed, 2 if the task
    was started without its parameters (nothing to report to)."""
    from . import storage
    from .progress import ProgressSender
    from .report import Heartbeat, Reporter, ReportError, TaskAbandoned
    from .usage import Usage, task_size

    s = settings
    usage = Usage()
    try:
        s.require_job_params()
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    log.info(
        "video %s attempt %d: s3://%s/%s -> %s",
        s.video_id,
        s.attempt,
        s.bucket,
        s.input_key,
        s.output_prefix,
    )
    try:
        reporter = reporter or Reporter(s.task_token)
    except Exception:
        log.exception("cannot create the Step Functions client")
        return 1
    cancellation = Cancellation()
    progress = None
    if s.status_queue_url:
        progress = ProgressSender(
            s.status_queue_url, s.video_id, s.attempt, s.progress_interval_seconds
        )

    def report_progress(percent: int) -> None:
        if progress is not None:
            progress.update(percent)
        if on_progress is not None:
            on_progress(percent)

    try:
        with stop_on_signals(cancellation):
            try:
                with (
                    Heartbeat(reporter, s.heartbeat_seconds, cancellation),
                    progress or contextlib.nullcontext(),
                    tempfile.TemporaryDirectory(prefix="transcode-", dir=s.work_dir) as tmp,
                ):
                    work = Path(tmp)
                    src, out, poster = work / "input", work / "clip.mp4", work / "poster.jpg"
                    usage.input_bytes = storage.download(s.bucket, s.input_key, src)
                    cancellation.check()
                    r = process_file(
                        src,
                        out,
                        poster,
                        s,
                        on_progress=report_progress,
                        cancellation=cancellation,
                    )
                    cancellation.check()
                    storage.upload(out, s.bucket, s.output_key, "video/mp4")
                    storage.upload(poster, s.bucket, s.poster_key, "image/jpeg")
                    usage.output_bytes = out.stat().st_size + poster.stat().st_size
                # Checked once more after the heartbeat stopped: never report success for work
                # that was interrupted (moto reuses the token across retries).
                cancellation.check()
            except TaskAbandoned as exc:
                log.error("not reporting: %s", exc.cause)
                return 1
            except TranscodeError as exc:
                log.error("%s: %s", exc.error, exc.cause)
                reporter.failure(exc.error, exc.cause)
                return 0
            except Exception as exc:  # a bug or an unexpected environment problem
                log.exception("unexpected error")
                reporter.failure(Failed.error, f"internal error: {type(exc).__name__}: {exc}")
                return 0
            result = {
                "output_key": s.output_key,
                "poster_key": s.poster_key,
                "duration_seconds": r.duration_seconds,
                "width": r.width,
                "height": r.height,
                "size_bytes": r.size_bytes,
                "ffmpeg_wall_seconds": r.ffmpeg_wall_seconds,
                "ffmpeg_cpu_seconds": r.ffmpeg_cpu_seconds,
                # The run's cost figures (docs/costs.md).
                **usage.figures(*task_size(s.task_vcpu, s.task_memory_gb)),
            }
            reporter.success(result)
            return 0
    except ReportError as exc:
        log.error("%s", exc)
        return 1


__all__ = ["TranscodeResult", "process_file", "run_job", "stop_on_signals"]
