"""CPU used by an idle `vidpipe up`, and how long it takes to exit on SIGTERM.

    python bench/idle_cpu.py [--seconds 30] [--settle 5]

Starts `python -m cli up` on free ports in a temporary data directory, waits for /api/health,
lets start-up settle, then reads utime+stime of the process (all its threads) from
/proc/<pid>/stat over the window: the share of one core it used while nothing happened. Then sends
SIGTERM and times the exit.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.ports import free_port_pair  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (every thread), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_healthy(port: int, deadline: float = 90) -> None:
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    port = free_port_pair()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDPIPE_", "AWS_", "MOTO_"))}
    with tempfile.TemporaryDirectory(prefix="vidpipe-idle-") as tmp:
        log = open(Path(tmp) / "up.log", "wb")
        command = [sys.executable, "-m", "cli", "up", "--port", str(port), "--data-dir", tmp]
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(port)
            time.sleep(args.settle)  # start-up work (migrations, imports) is not idle time
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.seconds)  # the measurement window itself
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
            exited = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    used, window = cpu1 - cpu0, t1 - t0
    print(f"idle `vidpipe up` over {window:.1f} s: {used:.2f} CPU s = {100 * used / window:.2f} %")
    print(f"SIGTERM -> exit: {exited:.2f} s (exit status {code})")


if __name__ == "__main__":
    main()
