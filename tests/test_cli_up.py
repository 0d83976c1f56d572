"""`vidpipe up` as a user runs it: real processes, real ports, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from localcloud.ports import free_port_pair

# Boots a local cloud, ffmpeg or servers: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow


def _start(tmp_path: Path, name: str):
    port = free_port_pair()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDPIPE_", "AWS_"))}
    log = open(tmp_path / f"{name}.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / name),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    return proc, port, log


def _health(port: int, deadline: float = 180) -> dict:
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                return json.load(r)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


def test_two_stacks_side_by_side_answer_health_and_stop_cleanly_on_sigterm(tmp_path):
    stacks = [_start(tmp_path, "one"), _start(tmp_path, "two")]
    try:
        for _proc, port, _ in stacks:
            assert _health(port) == {"status": "ok", "database": "ok", "queue": "ok"}
        for name in ("one", "two"):
            assert (tmp_path / name / "vidpipe.db").exists()
    finally:
        for proc, _, _ in stacks:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=30) for proc, _, _ in stacks]
        for _, _, log in stacks:
            log.close()
    assert codes == [0, 0], [(tmp_path / f"{n}.log").read_text()[-2000:] for n in ("one", "two")]


# The documented shutdown bound (issue 9): `vidpipe up` is gone within 5 s of SIGTERM.
SHUTDOWN_SECONDS = 5


def test_up_exits_with_status_0_within_the_shutdown_bound_of_sigterm(tmp_path):
    proc, port, log = _start(tmp_path, "stack")
    try:
        _health(port)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            code = "still running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert code == 0, (tmp_path / "stack.log").read_text()[-2000:]
