"""Run ffmpeg bounded: wall-clock limit, progress parsing, cancellation (SIGTERM, state gave up)."""

from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import Failed, TranscodeError, Transient

log = logging.getLogger(__name__)

ProgressHook = Callable[[int], None]
POLL_SECONDS = 0.1
# Lines ffmpeg repeats for every JPEG poster and that mean nothing for the result.
_NOISE = ("deprecated pixel format used",)


class Cancellation:
    """Set from a signal handler or the heartbeat thread; checked by the runner and the job.

    The first reason wins: a SIGTERM after the state machine gave up does not change the outcome.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.error: TranscodeError | None = None
        self._on_cancel: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self, error: TranscodeError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
            self.event.set()
            callbacks = list(self._on_cancel)
        for cb in callbacks:
            cb()

    def add_callback(self, cb: Callable[[], None]) -> None:
        with self._lock:
            self._on_cancel.append(cb)

    def remove_callback(self, cb: Callable[[], None]) -> None:
        with self._lock:
            self._on_cancel.remove(cb)

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()

    def check(self) -> None:
        """Raise the cancellation's error if there is one (call between steps)."""
        if self.error is not None:
            raise self.error


@dataclass(frozen=True)
class RunResult:
    wall_seconds: float
    cpu_seconds: float  # user + system of the ffmpeg process (its own rusage, via wait4)
    max_rss_kb: int
    stderr_tail: str


class TimeLimitExceeded(Failed):
    pass


def parse_progress_time(block: dict[str, str]) -> float | None:
    """Seconds of output written, from one `-progress` block (out_time_us; out_time_ms is also
    microseconds in ffmpeg 5.1, despite its name)."""
    for key in ("out_time_us", "out_time_ms"):
        value = block.get(key, "")
        if value.lstrip("-").isdigit():
            return max(0, int(value)) / 1e6
    return None


class ProgressParser:
    """Feed it ffmpeg `-progress` lines; it calls `on_progress(percent)` when the percentage moves."""

    def __init__(self, total_seconds: float, on_progress: ProgressHook | None = None) -> None:
        self.total = max(total_seconds, 1e-6)
        self.on_progress = on_progress
        self.percent = -1
        self._block: dict[str, str] = {}

    def feed(self, line: str) -> None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return
        self._block[key] = value.strip()
        if key != "progress":  # "progress=continue|end" closes a block
            return
        block, self._block = self._block, {}
        seconds = parse_progress_time(block)
        if value.strip() == "end":
            percent = 100
        elif seconds is None:
            return
        else:
            percent = min(99, int(100 * seconds / self.total))  # 100 only when ffmpeg says "end"
        if percent > self.percent:
            self.percent = percent
            log.info("progress %d%%", percent)
            if self.on_progress is not None:
                try:
                    self.on_progress(percent)
                except Exception:  # a failing hook must not break the transcode
                    log.exception("progress hook failed")


def run_ffmpeg(
    cmd: list[str],
    *,
    time_limit: float,
    total_seconds: float,
    on_progress: ProgressHook | None = None,
    cancellation: Cancellation | None = None,
) -> RunResult:
    """Run `cmd` (which must write `-progress pipe:1`), killing it on time limit or cancellation."""
    cancellation = cancellation or Cancellation()
    cancellation.check()
    parser = ProgressParser(total_seconds, on_progress)
    stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except FileNotFoundError as exc:
        raise Failed(f"ffmpeg not found ({cmd[0]})") from exc

    def kill() -> None:
        # SIGKILL: the partial output is discarded anyway, and a stuck ffmpeg may ignore SIGTERM.
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def read_progress() -> None:
        for line in proc.stdout:
            parser.feed(line)

    def read_stderr() -> None:
        logged = 0
        for line in proc.stderr:
            line = line.rstrip()
            if not line or any(n in line for n in _NOISE):
                continue
            stderr_tail.append(line)
            if logged < 20:  # a damaged input can produce thousands of decoder warnings
                log.warning("ffmpeg: %s", line)
                logged += 1

    readers = [threading.Thread(target=f, daemon=True) for f in (read_progress, read_stderr)]
    for t in readers:
        t.start()
    # Registered while ffmpeg runs so that a SIGTERM handler kills it at once, not at next poll.
    cancellation.add_callback(kill)
    timed_out = False
    try:
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if cancellation.cancelled:
                kill()
            elif time.monotonic() - start > time_limit:
                timed_out = True
                log.error("ffmpeg exceeded its %.0f s time limit: killing it", time_limit)
                kill()
            cancellation.event.wait(POLL_SECONDS)
    except BaseException:
        kill()
        os.wait4(proc.pid, 0)
        raise
    finally:
        cancellation.remove_callback(kill)
    # wait4 reaped the child: tell Popen, so that it does not try again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    for t in readers:
        t.join(timeout=5)
    result = RunResult(
        wall_seconds=wall,
        cpu_seconds=rusage.ru_utime + rusage.ru_stime,
        max_rss_kb=rusage.ru_maxrss,
        stderr_tail="\n".join(stderr_tail),
    )
    if timed_out:
        raise TimeLimitExceeded(
            f"processing took longer than its {time_limit:.0f} s limit and was stopped"
        )
    if cancellation.cancelled:
        cancellation.check()
        raise Transient("processing was interrupted")
    if proc.returncode != 0:
        last = stderr_tail[-1] if stderr_tail else f"exit code {proc.returncode}"
        raise Failed(f"ffmpeg failed: {last}")
    log.info(
        "ffmpeg done in %.1f s wall, %.1f s CPU, peak RSS %d MB",
        result.wall_seconds,
        result.cpu_seconds,
        result.max_rss_kb // 1024,
    )
    return result


_version_cache: dict[str, str] = {}


def ffmpeg_version(ffmpeg: str = "ffmpeg") -> str:
    """First line of `ffmpeg -version` (logged with every job: which binary did the work)."""
    if ffmpeg not in _version_cache:
        try:
            out = subprocess.run(
                [ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Failed(f"ffmpeg not found or not runnable ({ffmpeg})") from exc
        _version_cache[ffmpeg] = (out.splitlines() or ["unknown"])[0]
    return _version_cache[ffmpeg]
