"""Rankings under volume: 100,000 players and 1,000,000 votes in PostgreSQL.

    .venv/bin/python bench/rankings.py            # seed (about a minute), measure, print EXPLAIN

1. Creates the database `vidpipe_bench_rankings` (drops it first) on the server of
   VIDPIPE_BENCH_POSTGRES_URL (default postgresql+psycopg://vidpipe:vidpipe@127.0.0.1:5432/postgres),
   migrates it, and loads the players, videos and votes with COPY; the aggregates
   (users.votes_received, users.first_vote_at, users.public_videos, videos.votes) are computed in
   SQL from the rows and checked.
2. Starts the real API (`vidpipe api`, one uvicorn process) on that database.
3. Times GET /api/public/rankings?city=X (several cities, random pages 1..50, page_size 20) from
   one client (sequential: the latency of one request on an idle server), then from 8 concurrent
   clients for reference. Target: p95 < 20 ms for the sequential run.
4. Prints EXPLAIN (ANALYZE, BUFFERS) of the exact SQL that vidpipe.voting.rankings sends.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench._common import (  # noqa: E402
    Server,
    clean_env,
    cpu_seconds,
    percentile,
    print_json,
    recreate_database,
    running,
    seed_postgres,
    vidpipe_argv,
)
from localcloud.ports import free_port_pair  # noqa: E402

TARGET_P95_MS = 20.0


def explain(url: str, city: str, page: int, page_size: int) -> str:
    """EXPLAIN ANALYZE of the statement voting.rankings really sends (captured, not retyped)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from vidpipe import voting
    from vidpipe.db.session import make_engine

    engine = make_engine(url)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM users" in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    with Session(engine) as session:
        rows = voting.rankings(session, city=city, page=page, page_size=page_size)
    event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(row[0] for row in cur.fetchall())
    engine.dispose()
    return f"-- {len(rows)} rows; SQL:\n{statement}\n-- parameters: {parameters}\n{plan}"


async def measure(base: str, cities: list[str], requests: int, concurrency: int, seed: int):
    rng = random.Random(seed)
    plan = [(rng.choice(cities), rng.randint(1, 50)) for _ in range(requests)]
    latencies: list[float] = []
    errors = 0
    empty = 0
    queue: asyncio.Queue = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)

    async with httpx.AsyncClient(base_url=base, timeout=10) as client:

        async def worker():
            nonlocal errors, empty
            while True:
                try:
                    city, page = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = time.perf_counter()
                try:
                    r = await client.get(
                        "/api/public/rankings", params={"city": city, "page": page, "page_size": 20}
                    )
                    ok = r.status_code == 200
                    rows = r.json() if ok else []
                except httpx.HTTPError:
                    ok, rows = False, []
                latencies.append((time.perf_counter() - t) * 1000)
                if not ok:
                    errors += 1
                elif not rows:
                    empty += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "concurrency": concurrency,
        "errors": errors,
        "empty_pages": empty,
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--players", type=int, default=100_000)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--database", default="vidpipe_bench_rankings")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--requests", type=int, default=1000, help="requests per measured run")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()

    if args.reuse:
        from bench._common import database_url

        url = database_url(args.database)
    else:
        url = recreate_database(args.database)
        seed_postgres(url, players=args.players, votes=args.votes)

    import psycopg

    from bench._common import libpq_url

    with psycopg.connect(libpq_url(url)) as conn:
        counts = conn.execute(
            """SELECT (SELECT count(*) FROM users),
                      (SELECT count(*) FROM users WHERE public_videos > 0),
                      (SELECT count(*) FROM videos), (SELECT count(*) FROM votes)"""
        ).fetchone()
        per_city = dict(
            conn.execute(
                """SELECT city, count(*) FROM users WHERE public_videos > 0 GROUP BY city
                   ORDER BY 2 DESC"""
            ).fetchall()
        )
    print_json(
        "data",
        {"users": counts[0], "ranked_players": counts[1], "videos": counts[2], "votes": counts[3]},
    )
    # The biggest, a middle and a small city, plus a lower-cased spelling (same index key).
    names = list(per_city)
    cities = [names[0], names[len(names) // 2], names[-1], names[1].lower()]
    print_json("cities", {c: per_city.get(c, per_city.get(c.title())) for c in cities})

    port = free_port_pair()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="vidpipe-bench-") as tmp:
        api = Server(
            vidpipe_argv("api", "--port", str(port)),
            clean_env(VIDPIPE_DATABASE_URL=url, VIDPIPE_LOG_LEVEL="WARNING"),
            Path(tmp) / "api.log",
            "vidpipe api",
        )
        with running(api):
            api.wait_http(base + "/api/public/rankings?page_size=1")
            # Warm-up: connections in the pool, code paths, PostgreSQL's buffer cache.
            asyncio.run(measure(base, cities, 200, 4, seed=1))
            cpu0 = cpu_seconds(api.pid)
            sequential = asyncio.run(measure(base, cities, args.requests, 1, seed=2))
            sequential["server_cpu_ms_per_request"] = round(
                1000 * (cpu_seconds(api.pid) - cpu0) / sequential["requests"], 2
            )
            concurrent = asyncio.run(measure(base, cities, args.requests, 8, seed=3))
            print_json("rankings_sequential", sequential)
            print_json("rankings_8_concurrent", concurrent)
            # The server-side share: the same query timed in-process, without HTTP.
            print_json("query_only", time_query(url, cities))
    print()
    print(explain(url, names[0], 50, 20))
    print()
    met = sequential["p95_ms"] < TARGET_P95_MS and sequential["errors"] == 0
    print(
        f"TARGET p95 < {TARGET_P95_MS} ms (sequential): {'MET' if met else 'MISSED'} "
        f"(p95 {sequential['p95_ms']} ms, {sequential['errors']} errors)"
    )
    if not args.keep and not args.reuse:
        from bench._common import admin_url

        with psycopg.connect(libpq_url(admin_url()), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    return 0 if met else 1


def time_query(url: str, cities: list[str], n: int = 300) -> dict:
    from sqlalchemy.orm import Session

    from vidpipe import voting
    from vidpipe.db.session import make_engine

    rng = random.Random(4)
    engine = make_engine(url)
    times = []
    with Session(engine) as session:
        for _ in range(n):
            t = time.perf_counter()
            voting.rankings(session, city=rng.choice(cities), page=rng.randint(1, 50), page_size=20)
            times.append((time.perf_counter() - t) * 1000)
            session.rollback()
    engine.dispose()
    return {
        "calls": n,
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
    }


if __name__ == "__main__":
    sys.exit(main())
