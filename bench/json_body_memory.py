"""Memory of the API process under oversized JSON bodies (issue 9, point 2).

    .venv/bin/python bench/json_body_memory.py

Starts `vidpipe api` (SQLite in a temp dir, a standalone moto_server for S3/SQS) and sends two
concurrent 100 MB JSON bodies to POST /api/auth/login (no login needed), twice: once with a
Content-Length, once chunked (no Content-Length). The body is one valid JSON object with a
100 MB `email`, streamed from a generator, so nothing is built in the client either. The API
process's peak RSS is read from /proc/<pid>/status VmHWM (reset just before each round through
/proc/<pid>/clear_refs) and sampled every 10 ms. Target: < 20 MB growth; every answer a 413.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench._common import api_on_sqlite, print_json, rss_peak  # noqa: E402

TARGET_GROWTH_MB = 20.0
MIB = 1024 * 1024
BODY_BYTES = 100 * MIB
CHUNK = b"a" * MIB


def json_body(size: int):
    """A JSON object of exactly `size` bytes, produced 1 MiB at a time."""
    head, tail = b'{"email": "', b'@example.com", "password": "x"}'
    yield head
    remaining = size - len(head) - len(tail)
    while remaining > 0:
        piece = CHUNK[: min(MIB, remaining)]
        remaining -= len(piece)
        yield piece
    yield tail


def send(base: str, declared: bool, outcomes: list) -> None:
    headers = {"Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(BODY_BYTES)
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            response = client.post(
                "/api/auth/login", content=json_body(BODY_BYTES), headers=headers
            )
        outcomes.append((response.status_code, response.text[:120]))
    except httpx.HTTPError as exc:
        outcomes.append(("error", f"{type(exc).__name__}: {exc}"[:120]))


def round_of_two(base: str, pid: int, declared: bool) -> dict:
    time.sleep(0.5)
    outcomes: list = []
    threads = [threading.Thread(target=send, args=(base, declared, outcomes)) for _ in range(2)]
    with rss_peak(pid) as rss:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        seconds = time.perf_counter() - started
        time.sleep(0.5)
    baseline_kb, peak_kb = rss["baseline_kb"], rss["peak_kb"]
    return {
        "content_length": declared,
        "baseline_mb": round(baseline_kb / 1024, 1),
        "peak_mb": round(peak_kb / 1024, 1),
        "growth_mb": round((peak_kb - baseline_kb) / 1024, 1),
        "seconds": round(seconds, 2),
        "answers": outcomes,
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="vidpipe-bench-json-") as tmp:
        tmp = Path(tmp)
        with api_on_sqlite(tmp) as api:
            # Warm-up: a normal failed login loads the JSON, validation and argon2 paths.
            with httpx.Client(base_url=api.base, timeout=60) as client:
                client.post("/api/auth/login", json={"email": "w@example.com", "password": "x"})
            rounds = [round_of_two(api.base, api.pid, declared) for declared in (True, False)]
    for result in rounds:
        print_json("two_concurrent_100mb_json_bodies", result)
    worst = max(result["growth_mb"] for result in rounds)
    all_413 = all(answer[0] == 413 for result in rounds for answer in result["answers"])
    ok = worst < TARGET_GROWTH_MB and all_413
    print(
        f"TARGET peak RSS growth < {TARGET_GROWTH_MB:.0f} MB with every answer 413: "
        f"{'MET' if ok else 'MISSED'} (worst +{worst:.1f} MB)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
