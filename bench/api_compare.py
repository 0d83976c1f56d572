"""Before/after API throughput, side by side in one run, on the same PostgreSQL data.

    .venv/bin/python bench/api_compare.py --before /work/wt/perf-before

For each server variant (default: the code at --before and this checkout, each with 1 and 2
uvicorn workers) it starts `vidpipe api` on the same seeded database and the same moto_server,
and measures, one after the other:
1. sequential: 200 `GET /api/public/rankings` on one keep-alive connection (p50, p95): shows a
   missing TCP_NODELAY (a ~40 ms delayed-ACK stall per answer);
2. ceiling: `wrk` on a trivial JSON endpoint of the same server (`GET /bench/ceiling`, added by
   bench/serverside/sitecustomize.py to whatever app `api.main.create_app` builds);
3. mix: `wrk` with bench/wrk_mix.lua, api_load.py's mix (38% public videos, 37% rankings, 20% own
   video, 5% login), 64 connections, closed loop;
4. reads: the same without login;
5. api_load: bench/api_load.py's own httpx load generator (64 users, closed loop, same mix).
For each: requests/s, latency percentiles, errors and the server's CPU per request (utime+stime of
every process in the server's process group, workers included, from /proc).

"Before" runs the other checkout's code (PYTHONPATH points at it) as it was deployed: the image
installed plain `uvicorn` (no uvloop/httptools), so by default the before servers run with those
two made unimportable (--before-extras keeps them). Every server listens on 127.0.0.1 and is
stopped at the end; every load is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench._common import (  # noqa: E402
    BENCH_PASSWORD,
    PYTHON,
    ROOT,
    Server,
    admin_url,
    clean_env,
    cli_module,
    database_url,
    libpq_url,
    percentile,
    print_json,
    recreate_database,
    running,
    seed_postgres,
    start_moto,
)
from bench.api_load import MIX, pick_accounts, run_load  # noqa: E402
from localcloud.ports import free_port_pair  # noqa: E402

BENCH = Path(__file__).resolve().parent
WRK_MIX = BENCH / "wrk_mix.lua"
WRK_PATH = BENCH / "wrk_path.lua"
SERVERSIDE = BENCH / "serverside"


def group_cpu_seconds(pgid: int) -> float:
    """utime+stime of every live process in process group `pgid` (the server and its workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: pgrp
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wrk(url: str, script: Path, seconds: int, connections: int, threads: int, *args) -> dict:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    if args:
        argv += ["--", *map(str, args)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no report:\n{out.stdout}\n{out.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds_run, 1),
        "errors": errors,
        "non2xx": raw["errors_status"],
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "seconds": round(seconds_run, 1),
    }


def sequential(port: int, path: str, n: int = 200) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    try:
        for i in range(n + 20):
            t = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if i >= 20:  # the first 20 warm the connection and the caches
                times.append((time.perf_counter() - t) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}")
    finally:
        conn.close()
    return {"p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2)}


def endpoint_cpu(port: int, pgid: int, accounts: list[dict], n: int = 200) -> dict:
    """Server CPU per request of each endpoint, sequential on one keep-alive connection.

    Public pages cycle through the mix's 420 (list, city, page) keys, so after the warm-up they
    are cache hits when the cache is on; the own-video read cycles through the players.
    """
    import random

    from bench._common import CITIES

    rng = random.Random(3)

    def paged(path: str) -> str:
        city = rng.choice(CITIES).replace(" ", "%20") if rng.random() < 0.5 else None
        return f"{path}?page={rng.randint(1, 10)}" + (f"&city={city}" if city else "")

    login_body = json.dumps({"email": accounts[0]["email"], "password": BENCH_PASSWORD})
    cases = {
        "ceiling": lambda i: ("GET", "/bench/ceiling", None, {}),
        "rankings": lambda i: ("GET", paged("/api/public/rankings"), None, {}),
        "public_videos": lambda i: ("GET", paged("/api/public/videos"), None, {}),
        "video_detail": lambda i: (
            "GET",
            f"/api/videos/{accounts[i % len(accounts)]['video_id']}",
            None,
            {"Authorization": f"Bearer {accounts[i % len(accounts)]['token']}"},
        ),
        "login": lambda i: (
            "POST",
            "/api/auth/login",
            login_body,
            {"Content-Type": "application/json"},
        ),
    }
    out = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for name, make in cases.items():
            count = n if name != "login" else max(n // 10, 5)
            cpu0, wall0 = group_cpu_seconds(pgid), time.perf_counter()
            for i in range(count):
                method, path, body, headers = make(i)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status}")
            cpu = group_cpu_seconds(pgid) - cpu0
            out[name] = {
                "cpu_ms": round(cpu * 1000 / count, 2),
                "wall_ms": round((time.perf_counter() - wall0) * 1000 / count, 2),
            }
    finally:
        conn.close()
    return out


def sweep(port: int, rounds: int = 2) -> None:
    """GET every (list, city, page) key of the mix once per round, a new connection each, so
    every worker's caches hold what a server up for a while holds (pages, presigned URLs)."""
    from urllib.parse import quote

    from bench._common import CITIES

    for _ in range(rounds):
        for path in ("/api/public/videos", "/api/public/rankings"):
            for city in [None, *CITIES]:
                for page in range(1, 11):
                    query = f"?page={page}" + (f"&city={quote(city)}" if city else "")
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    try:
                        conn.request("GET", path + query)
                        conn.getresponse().read()
                    finally:
                        conn.close()


def login_accounts(base: str, accounts: list[dict], path: Path) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        for account in accounts:
            r = client.post(
                "/api/auth/login", json={"email": account["email"], "password": BENCH_PASSWORD}
            )
            r.raise_for_status()
            account["token"] = r.json()["access_token"]
    path.write_text("".join(f"{a['token']}\t{a['video_id']}\t{a['email']}\n" for a in accounts))


def start_profile(pid: int, out: Path, seconds: int) -> subprocess.Popen:
    """py-spy (collapsed stacks, on-CPU only) of the server and its workers during one phase.

    The sampler takes CPU from the same 2 cores: figures of a profiled run are not compared.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = str(Path(PYTHON).with_name("py-spy"))
    argv = [
        spy,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--duration",
        str(seconds),
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        str(out),
        "--gil",
        "--nonblocking",
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def measured(pgid: int, fn, *args):
    cpu0, wall0 = group_cpu_seconds(pgid), time.perf_counter()
    result = fn(*args)
    cpu, wall = group_cpu_seconds(pgid) - cpu0, time.perf_counter() - wall0
    return result, cpu, wall


class Variant:
    """One server under test: a checkout, a worker count, with or without uvicorn's extras."""

    def __init__(self, name: str, code: Path, workers: int, extras: bool, ctx: dict) -> None:
        self.name, self.workers = name, workers
        self.port = free_port_pair()
        self.base = f"http://127.0.0.1:{self.port}"
        env = clean_env(
            VIDPIPE_DATABASE_URL=ctx["url"],
            VIDPIPE_LOG_LEVEL="WARNING",
            PYTHONPATH=f"{code}{os.pathsep}{SERVERSIDE}",
            # Else `python -m` puts the working directory (this checkout) first on the path.
            PYTHONSAFEPATH="1",
            BENCH_CEILING="1",
            **ctx["aws_env"],
        )
        if not extras:
            env["BENCH_NO_UVICORN_EXTRAS"] = "1"
        if code != ROOT:
            env["BENCH_SKIP_MIGRATE"] = "1"
        argv = [PYTHON, "-m", cli_module(code), "api", "--port", str(self.port)]
        argv += ["--workers", str(workers)]
        self.server = Server(argv, env, ctx["tmp"] / f"{name}.log", name)
        self.accounts_file = ctx["tmp"] / f"{name}.accounts"
        self.accounts = [dict(a) for a in ctx["accounts"]]
        self.results: dict = {"variant": name, "workers": workers, "rounds": []}

    def prepare(self, args) -> None:
        self.server.wait_http(self.base + "/bench/ceiling")
        login_accounts(self.base, self.accounts, self.accounts_file)
        self.results["sequential_rankings"] = sequential(
            self.port, "/api/public/rankings?city=Cali"
        )
        self.results["sequential_ceiling"] = sequential(self.port, "/bench/ceiling")
        print_json(
            f"{self.name} sequential",
            {
                "rankings": self.results["sequential_rankings"],
                "ceiling": self.results["sequential_ceiling"],
            },
        )
        # Not counted: fills the per-process caches (pages, presigned URLs) as a server that has
        # been up for a while has them; wrk shares the 2 cores with the server.
        wrk(self.base, WRK_MIX, args.warmup, args.connections, args.threads, self.accounts_file, 0)
        sweep(self.port)
        self.results["endpoint_cpu"] = endpoint_cpu(self.port, self.server.pid, self.accounts)
        print_json(f"{self.name} endpoint_cpu", self.results["endpoint_cpu"])

    def run(self, phase: str, args, round_no: int) -> dict:
        c, t = args.connections, args.threads
        spy = None
        if args.profile and phase == "mix" and round_no == 0:
            spy = start_profile(self.server.pid, args.profile / f"{self.name}.txt", args.seconds)
        if phase == "api_load":
            (summary, extra), cpu, wall = measured(
                self.server.pid,
                asyncio.run,
                run_load(self.base, self.accounts, c, args.seconds, 3.0, 0.0, self.server.pid, MIX),
            )
            row = dict(summary["ALL"])
            row["p95_but_login_ms"] = summary["ALL_but_login"]["p95_ms"]
            # CPU over the whole call (its logins and warm-up included): an upper bound.
            row["cpu_ms_per_request"] = round(cpu * 1000 / max(row["requests"], 1), 2)
            row["loadgen_cores"] = extra["loadgen_cpu_cores"]
            for sample in extra["error_samples"]:
                print(f"{self.name} api_load error: {sample}")
        else:
            if phase == "ceiling":
                target = (self.base + "/bench/ceiling", WRK_PATH, args.short, c, t)
            elif phase == "mix":
                target = (self.base, WRK_MIX, args.seconds, c, t, self.accounts_file, 5)
            else:  # reads
                target = (self.base, WRK_MIX, args.short, c, t, self.accounts_file, 0)
            row, cpu, _ = measured(self.server.pid, wrk, *target)
            row["cpu_ms_per_request"] = round(cpu * 1000 / max(row["requests"], 1), 2)
            row["server_cores"] = round(cpu / row["seconds"], 2)
        if spy is not None:
            spy.wait(timeout=120)
        print_json(f"{self.name} {phase} round {round_no + 1}", row)
        return row


def median_row(rows: list[dict]) -> dict:
    """The round with the median requests/s, the lower one of an even count (its own latencies
    and CPU, not mixed)."""
    ordered = sorted(rows, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]


def table(all_results: list[dict]) -> None:
    print("\n(median round by requests/s, the lower of two; every round is printed above)")
    print(
        f"{'variant':<16} {'phase':<9} {'rps':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'CPU ms/req':>10} {'srv cores':>9}"
    )
    for res in all_results:
        for phase in ("ceiling", "mix", "reads", "api_load"):
            rows = [r[phase] for r in res["rounds"] if phase in r]
            if not rows:
                continue
            row = median_row(rows)
            print(
                f"{res['variant']:<16} {phase:<9} {row['rps']:>8} {row['p50_ms']:>8} "
                f"{row['p95_ms']:>8} {row['p99_ms']:>8} {row['errors']:>6} "
                f"{row['cpu_ms_per_request']:>10} {row.get('server_cores', ''):>9}"
            )
        cpu = res.get("endpoint_cpu", {})
        print(
            f"{res['variant']:<16} {'CPU/req':<9} "
            + ", ".join(f"{k} {v['cpu_ms']} ms" for k, v in cpu.items())
        )
        seq = res["sequential_rankings"]
        print(
            f"{res['variant']:<16} {'seq rank':<9} p50 {seq['p50_ms']} ms, p95 {seq['p95_ms']} ms "
            f"(ceiling p50 {res['sequential_ceiling']['p50_ms']} ms)"
        )


def markdown(all_results: list[dict]) -> None:
    """The tables of docs/benchmarks.md: per phase the median round, the other rounds after it."""

    def cell(res: dict, phase: str, key: str, fmt: str = "{:,.1f}") -> str:
        rows = [r[phase] for r in res["rounds"] if phase in r]
        if not rows:
            return "-"
        chosen = median_row(rows)
        others = [r for r in rows if r is not chosen]
        text = fmt.format(chosen[key])
        if key == "rps" and others:
            text += " (" + ", ".join(fmt.format(r[key]) for r in others) + ")"
        return text

    print(
        "\n| server | ceiling rps | mix rps | mix p95 ms | mix CPU/req ms | reads rps "
        "| reads p95 ms | reads CPU/req ms | api_load rps | api_load p95 ms | srv cores (mix) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for res in all_results:
        print(
            f"| {res['variant']} | {cell(res, 'ceiling', 'rps', '{:,.0f}')} "
            f"| {cell(res, 'mix', 'rps')} | {cell(res, 'mix', 'p95_ms', '{:,.0f}')} "
            f"| {cell(res, 'mix', 'cpu_ms_per_request', '{:.2f}')} "
            f"| {cell(res, 'reads', 'rps')} | {cell(res, 'reads', 'p95_ms', '{:,.0f}')} "
            f"| {cell(res, 'reads', 'cpu_ms_per_request', '{:.2f}')} "
            f"| {cell(res, 'api_load', 'rps')} | {cell(res, 'api_load', 'p95_ms', '{:,.0f}')} "
            f"| {cell(res, 'mix', 'server_cores', '{:.2f}')} |"
        )
    print("\n| server | ceiling | rankings | public list | own video | login | seq. rankings p50 |")
    print("|---|---|---|---|---|---|---|")
    for res in all_results:
        cpu = res.get("endpoint_cpu", {})
        cells = " | ".join(
            f"{cpu[k]['cpu_ms']:.2f} ms" if k in cpu else "-"
            for k in ("ceiling", "rankings", "public_videos", "video_detail", "login")
        )
        print(f"| {res['variant']} | {cells} | {res['sequential_rankings']['p50_ms']} ms |")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--before", type=Path, help="checkout of the 'before' code")
    parser.add_argument(
        "--before-extras",
        action="store_true",
        help="let the before servers use uvloop/httptools if installed",
    )
    parser.add_argument(
        "--also-before-extras",
        action="store_true",
        help="also run the before code with 1 worker on uvloop/httptools",
    )
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--only", choices=("before", "after"), help="run one side only")
    parser.add_argument("--seconds", type=int, default=20, help="mix and api_load duration")
    parser.add_argument("--short", type=int, default=12, help="ceiling and reads duration")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every phase (median kept)")
    parser.add_argument("--warmup", type=int, default=8, help="seconds of wrk reads, not counted")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--no-api-load", dest="api_load", action="store_false")
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--database", default="vidpipe_bench_load")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--profile", type=Path, help="py-spy the mix phase into this directory")
    parser.add_argument("--markdown-from", type=Path, help="print the tables of a --json file")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    if max(args.seconds, args.short) > 120:
        parser.error("durations are capped at 120 s")
    if args.markdown_from:
        markdown(json.loads(args.markdown_from.read_text()))
        return 0
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk)")

    url = database_url(args.database) if args.reuse else recreate_database(args.database)
    if not args.reuse:
        seed_postgres(url, players=args.players, votes=args.votes)
    specs = []
    for workers in (int(w) for w in args.workers.split(",")):
        if args.before and args.only != "after":
            specs.append((f"before-{workers}w", args.before.resolve(), workers, args.before_extras))
        if args.before and args.only != "after" and args.also_before_extras and workers == 1:
            # The before code on uvloop + httptools: separates the server's share of the gain.
            specs.append(("before+uv-1w", args.before.resolve(), 1, True))
        if args.only != "before":
            specs.append((f"after-{workers}w", ROOT, workers, True))
    phases = ["ceiling", "mix", "reads"] + (["api_load"] if args.api_load else [])
    with tempfile.TemporaryDirectory(prefix="vidpipe-compare-") as tmp:
        tmp = Path(tmp)
        moto, aws_env = start_moto(tmp, free_port_pair())
        ctx = {
            "url": url,
            "aws_env": aws_env,
            "tmp": tmp,
            # Each variant signs in its own players: a server upgrades a hash made with other
            # argon2 parameters at sign-in, so two variants sharing players would re-hash them
            # back and forth and every timed sign-in would cost two hashes and a write.
            "accounts": pick_accounts(url, args.connections * len(specs)),
        }
        variants = []
        # All servers run at once (idle ones cost nothing) so that each phase runs the variants
        # back to back: on a shared, noisy machine before and after see the same neighbours.
        with running(moto):
            try:
                for i, spec in enumerate(specs):
                    own = ctx["accounts"][i * args.connections : (i + 1) * args.connections]
                    variants.append(Variant(*spec, {**ctx, "accounts": own}))
                for variant in variants:
                    variant.prepare(args)
                for round_no in range(args.rounds):
                    for variant in variants:
                        variant.results["rounds"].append({})
                    for phase in phases:
                        order = variants if round_no % 2 == 0 else variants[::-1]
                        for variant in order:
                            row = variant.run(phase, args, round_no)
                            variant.results["rounds"][round_no][phase] = row
            finally:
                for variant in variants:
                    variant.server.stop()
    all_results = [variant.results for variant in variants]
    table(all_results)
    markdown(all_results)
    if args.json:
        args.json.write_text(json.dumps(all_results, indent=2))
    print_json(
        "config",
        {
            "connections": args.connections,
            "wrk_threads": args.threads,
            "seconds": args.seconds,
            "short": args.short,
            "players": args.players,
            "votes": args.votes,
            "before": str(args.before),
            "before_extras": args.before_extras,
            "postgres": libpq_url(admin_url()).split("@")[-1],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
