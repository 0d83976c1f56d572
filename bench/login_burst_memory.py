"""Memory of the API process under a burst of concurrent sign-ins, before/after side by side.

    .venv/bin/python bench/login_burst_memory.py [--before DIR] [--concurrency 40,80]

Every POST /api/auth/login runs an argon2id hash (an unknown email too, against a dummy hash),
and each hash allocates its memory cost (19 MiB) in a worker thread of FastAPI's pool, up to 40 at
once: measured by hand, 40 concurrent failed logins took one `vidpipe api` from 166 MB to 450 MB
RSS and 80 to 526 MB, and the memory stayed after the burst, on a cloud task of 512 MiB.

For each code tree (the checkout at --before first, when given, then this one) and each N of
--concurrency, a fresh `vidpipe api` (one process, SQLite in a temp dir, a standalone moto_server
for S3/SQS; the other checkout runs with PYTHONPATH pointing at it) is warmed up with one failed
login, then gets N concurrent failed logins for unknown accounts, each from its own thread with
its own httpx client, released together. The API process's peak RSS is the larger of VmRSS
sampled every 10 ms and /proc/<pid>/status VmHWM (reset through /proc/<pid>/clear_refs just
before the burst). Printed per (tree, N): baseline, peak, growth, RSS 0.5 s after the burst, the
answers' status counts (401, and 429 once the per-address throttle steps in) and wall seconds;
then one before/after line per N. Prints figures only: no target, exit 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench._common import (  # noqa: E402
    PYTHON,
    ROOT,
    api_on_sqlite,
    clean_env,
    print_json,
    proc_status_kb,
    rss_peak,
)

CLIENT_TIMEOUT = 120  # seconds, per request
BURST_DEADLINE = 300  # seconds, for every thread of one burst to finish


def argon2_params(code: Path) -> str | None:
    """The argon2 parameters (`m=...,t=...,p=...`) of a hash made by `code`'s vidpipe.security,
    imported the way the server imports it: shows which code a variant really ran."""
    env = clean_env(PYTHONPATH=str(code), PYTHONSAFEPATH="1")
    script = "from vidpipe.security import password_hash; print(password_hash.hash('x'))"
    try:
        out = subprocess.run(
            [PYTHON, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        return out.stdout.strip().split("$")[3]
    except (subprocess.SubprocessError, IndexError):
        return None


def login(base: str, i: int, start: threading.Barrier, outcomes: list) -> None:
    body = {"email": f"burst{i}@example.com", "password": f"wrong-password-{i}"}
    try:
        with httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT) as client:
            start.wait()
            response = client.post("/api/auth/login", json=body)
        outcomes.append(response.status_code)
    except threading.BrokenBarrierError:
        outcomes.append("barrier_broken")
    except httpx.HTTPError as exc:
        outcomes.append(type(exc).__name__)


def burst(base: str, pid: int, n: int) -> dict:
    time.sleep(0.5)
    outcomes: list = []
    start = threading.Barrier(n, timeout=30)
    threads = [
        threading.Thread(target=login, args=(base, i, start, outcomes), daemon=True)
        for i in range(n)
    ]
    with rss_peak(pid) as rss:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + BURST_DEADLINE
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        seconds = time.perf_counter() - started
        unfinished = sum(thread.is_alive() for thread in threads)
        time.sleep(0.5)
    baseline_kb, peak_kb = rss["baseline_kb"], rss["peak_kb"]
    after_kb = proc_status_kb(pid, "VmRSS")
    statuses = Counter(str(outcome) for outcome in outcomes)
    if unfinished:
        statuses["unfinished"] = unfinished
    return {
        "concurrency": n,
        "baseline_mb": round(baseline_kb / 1024, 1),
        "peak_mb": round(peak_kb / 1024, 1),
        "growth_mb": round((peak_kb - baseline_kb) / 1024, 1),
        "after_mb": round(after_kb / 1024, 1),
        "statuses": dict(sorted(statuses.items())),
        "seconds": round(seconds, 2),
    }


def measure(variant: str, code: Path, n: int) -> dict:
    """One fresh server of `code` (None: this checkout), one warm-up, one burst of `n`."""
    with tempfile.TemporaryDirectory(prefix="vidpipe-bench-login-") as tmp:
        with api_on_sqlite(Path(tmp), code=None if code == ROOT else code) as api:
            # Warm-up: one failed login loads the JSON, validation, throttle and argon2 paths.
            with httpx.Client(base_url=api.base, timeout=60) as client:
                client.post(
                    "/api/auth/login", json={"email": "warmup@example.com", "password": "x"}
                )
            result = burst(api.base, api.pid, n)
    return {"variant": variant, "code": str(code), **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the old code, measured first")
    parser.add_argument(
        "--concurrency", default="40,80", help="comma-separated burst sizes (default: 40,80)"
    )
    args = parser.parse_args()
    sizes = [int(x) for x in args.concurrency.split(",") if x.strip()]
    variants = [("this_checkout", ROOT)]
    if args.before is not None:
        before = args.before.resolve()
        if not (before / "vidpipe" / "security.py").exists():
            parser.error(f"--before {before}: not a vidpipe checkout")
        variants.insert(0, ("before", before))

    results: dict[tuple[str, int], dict] = {}
    for variant, code in variants:
        params = argon2_params(code)
        for n in sizes:
            result = {"argon2": params, **measure(variant, code, n)}
            results[variant, n] = result
            print_json("login_burst", result)
            sys.stdout.flush()

    for n in sizes:
        parts = []
        for variant, _ in variants:
            r = results[variant, n]
            parts.append(
                f"{variant} +{r['growth_mb']:.1f} MB (peak {r['peak_mb']:.1f}, "
                f"after {r['after_mb']:.1f})"
            )
        print(f"N={n} peak RSS growth: " + " vs ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
