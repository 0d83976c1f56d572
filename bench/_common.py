"""Helpers shared by the API benchmarks (api_load.py, rankings.py, upload_memory.py,
json_body_memory.py...).

Every server these scripts start listens on 127.0.0.1 and is stopped (SIGTERM, then SIGKILL) when
the script ends; every load loop is bounded in time and count.
"""

from __future__ import annotations

import io
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DEFAULT_ADMIN_URL = "postgresql+psycopg://vidpipe:vidpipe@127.0.0.1:5432/postgres"
BENCH_PASSWORD = "bench-password-1"


def admin_url() -> str:
    """A PostgreSQL URL whose role may create databases."""
    return (
        os.environ.get("VIDPIPE_BENCH_POSTGRES_URL")
        or os.environ.get("VIDPIPE_TEST_POSTGRES_URL")
        or DEFAULT_ADMIN_URL
    )


def database_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(admin_url()).set(database=name).render_as_string(hide_password=False)


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL for psycopg.connect (no '+psycopg' driver suffix)."""
    from sqlalchemy.engine import make_url

    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def recreate_database(name: str) -> str:
    """Drop and create database `name`, migrate it to head; return its SQLAlchemy URL."""
    import psycopg

    from vidpipe.db.migrate import upgrade_to_head

    with psycopg.connect(libpq_url(admin_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    upgrade_to_head(url)
    return url


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without VIDPIPE_*/AWS_*, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDPIPE_", "AWS_"))}
    env.update(extra)
    return env


class Server:
    """A child process (own process group) stopped with SIGTERM on exit."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], log_path: Path, name: str):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=ROOT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_http(self, url: str, timeout: float = 90, ok=(200,)) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status in ok:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code in ok:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name}: {url} did not answer in {timeout} s\n{self.tail()}"
                )
            time.sleep(0.3)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode


@contextmanager
def running(*servers: Server):
    try:
        yield servers
    finally:
        for server in reversed(servers):
            server.stop()


def cli_module(code: Path) -> str:
    """`cli` after the CLI moved to a top-level package, `vidpipe.cli` before."""
    return "cli" if (code / "cli" / "__main__.py").exists() else "vidpipe.cli"


def vidpipe_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "cli", *args]


def start_moto(workdir: Path, port: int) -> tuple[Server, dict[str, str]]:
    """A standalone moto_server with the bucket and jobs queue; returns it and the API's env."""
    moto_bin = Path(PYTHON).with_name("moto_server")
    server = Server(
        [str(moto_bin), "-H", "127.0.0.1", "-p", str(port)],
        clean_env(),
        workdir / "moto.log",
        "moto_server",
    )
    endpoint = f"http://127.0.0.1:{port}"
    server.wait_http(endpoint + "/moto-api/", timeout=60, ok=(200, 404))
    import boto3

    aws = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    boto3.client("s3", **aws).create_bucket(Bucket="vidpipe-media")
    queue_url = boto3.client("sqs", **aws).create_queue(QueueName="vidpipe-jobs")["QueueUrl"]
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "VIDPIPE_BUCKET": "vidpipe-media",
        "VIDPIPE_JOBS_QUEUE_URL": queue_url,
        "VIDPIPE_JWT_SECRET": secrets.token_urlsafe(48),
    }
    return server, env


@dataclass
class ApiServer:
    server: Server  # the `vidpipe api` process
    base: str  # its URL
    aws_env: dict[str, str]  # what it was given to reach moto_server (endpoint, bucket, queue)

    @property
    def pid(self) -> int:
        return self.server.pid


@contextmanager
def api_on_sqlite(workdir: Path, code: Path | None = None) -> Iterator[ApiServer]:
    """`vidpipe api` alone on SQLite (the database, temporary files and logs in `workdir`,
    warnings only) against a standalone moto_server (`start_moto`), on a free pair of ports;
    yielded once /api/health answers, both stopped on exit. The API process holds nothing but
    the API: what is measured of it is not moto's memory or CPU. With `code`, the API runs that
    checkout's code: PYTHONPATH points at it and PYTHONSAFEPATH keeps `python -m` from putting
    the working directory (this checkout) ahead of it."""
    from localcloud.ports import free_port_pair

    argv = vidpipe_argv("api")
    code_env = {}
    if code is not None:
        argv = [PYTHON, "-m", cli_module(code), "api"]
        code_env = {"PYTHONPATH": str(code), "PYTHONSAFEPATH": "1"}
    port = free_port_pair()
    moto, aws_env = start_moto(workdir, port + 1)
    with running(moto):
        api = Server(
            [*argv, "--port", str(port)],
            clean_env(
                VIDPIPE_DATABASE_URL=f"sqlite:///{workdir / 'vidpipe.db'}",
                VIDPIPE_LOG_LEVEL="WARNING",
                TMPDIR=str(workdir),
                **code_env,
                **aws_env,
            ),
            workdir / "api.log",
            "vidpipe api",
        )
        with running(api):
            base = f"http://127.0.0.1:{port}"
            api.wait_http(base + "/api/health")
            yield ApiServer(api, base, aws_env)


# --- statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-p * len(ordered) // 100)))  # ceil
    return ordered[min(rank, len(ordered)) - 1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children are not counted)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


class RssSampler(threading.Thread):
    """A process's VmRSS every `every` seconds (the kernel's VmHWM can miss nothing, this shows
    the sampled peak beside it); `peak_kb` once stopped."""

    def __init__(self, pid: int, every: float = 0.01):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_kb = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.peak_kb = max(self.peak_kb, proc_status_kb(self.pid, "VmRSS"))
                self.samples += 1
            except (FileNotFoundError, ProcessLookupError):
                return
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


@contextmanager
def rss_peak(pid: int) -> Iterator[dict[str, int]]:
    """A process's VmRSS before the block ("baseline_kb") and its peak during it ("peak_kb", set
    on exit): the larger of VmHWM, reset just before, and VmRSS sampled every 10 ms."""
    figures = {"baseline_kb": proc_status_kb(pid, "VmRSS")}
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM
    sampler = RssSampler(pid)
    sampler.start()
    try:
        yield figures
    finally:
        sampler.stop()
    figures["peak_kb"] = max(sampler.peak_kb, proc_status_kb(pid, "VmHWM"))


def print_json(label: str, data: dict) -> None:
    print(f"{label} {json.dumps(data, sort_keys=True)}")


# --- seeding straight into PostgreSQL (COPY) ----------------------------------------------

FIRST_NAMES = [
    "Ana",
    "Bruno",
    "Carla",
    "Diego",
    "Elena",
    "Felipe",
    "Gabriela",
    "Hugo",
    "Isabel",
    "Juan",
    "Karen",
    "Luis",
    "Maria",
    "Nicolas",
    "Olga",
    "Pedro",
    "Queta",
    "Rosa",
    "Santiago",
    "Tania",
]
LAST_NAMES = [
    "Perez",
    "Silva",
    "Gomez",
    "Rodriguez",
    "Lopez",
    "Martinez",
    "Garcia",
    "Sanchez",
    "Ramirez",
    "Torres",
    "Flores",
    "Rivera",
    "Vargas",
    "Castro",
    "Ortiz",
    "Morales",
    "Rojas",
    "Mendoza",
]
# City sizes are skewed like real sign-ups: the first city holds ~1/4 of the players.
CITIES = [
    "Bogota",
    "Medellin",
    "Cali",
    "Barranquilla",
    "Cartagena",
    "Bucaramanga",
    "Pereira",
    "Manizales",
    "Santa Marta",
    "Ibague",
    "Cucuta",
    "Villavicencio",
    "Pasto",
    "Monteria",
    "Neiva",
    "Armenia",
    "Popayan",
    "Sincelejo",
    "Tunja",
    "Riohacha",
]
CITY_WEIGHTS = [1 / (i + 1) ** 0.9 for i in range(len(CITIES))]


@dataclass
class Seeded:
    user_ids: list[uuid.UUID]
    emails: list[str]
    cities: list[str]
    video_ids: list[uuid.UUID]  # processed videos
    video_owner: list[int]  # index into user_ids
    votes: int


def _copy(cursor, table: str, columns: Iterable[str], rows: Iterable[Sequence]) -> None:
    """COPY rows (tab-separated text, values must not contain tabs/newlines/backslashes)."""
    cols = ", ".join(columns)
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        buf = io.StringIO()
        for n, row in enumerate(rows, 1):
            buf.write("\t".join("\\N" if v is None else str(v) for v in row))
            buf.write("\n")
            if n % 50_000 == 0:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())


def seed_postgres(
    sqlalchemy_url: str,
    *,
    players: int,
    votes: int,
    processed_share: float = 0.85,
    second_video_share: float = 0.05,
    rng_seed: int = 7,
    log=print,
) -> Seeded:
    """Load players, videos and votes with COPY, then compute every aggregate in SQL.

    Every player gets one video; `processed_share` of them are processed (public), the rest are
    uploaded or failed; `second_video_share` of the players get a second processed video. Votes are
    unique (voter, video) pairs on processed videos, never by the owner, with a skewed popularity
    so the rankings have a long tail. All players share one argon2 hash of BENCH_PASSWORD (hashing
    100,000 passwords would take an hour and measure nothing).
    """
    import psycopg

    from vidpipe.security import hash_password

    rng = random.Random(rng_seed)
    password_hash = hash_password(BENCH_PASSWORD)
    now = datetime.now(UTC)
    started = time.perf_counter()

    user_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(players)]
    cities = rng.choices(CITIES, weights=CITY_WEIGHTS, k=players)
    emails = [f"player{i}@bench.example.com" for i in range(players)]

    video_ids: list[uuid.UUID] = []
    video_owner: list[int] = []
    video_rows = []
    for i in range(players):
        n_videos = 1 + (rng.random() < second_video_share)
        for k in range(n_videos):
            vid = uuid.UUID(int=rng.getrandbits(128), version=4)
            processed = k > 0 or rng.random() < processed_share
            status = "processed" if processed else rng.choice(("uploaded", "failed"))
            uploaded_at = now - timedelta(days=30, seconds=rng.randrange(86400 * 20))
            video_rows.append(
                (
                    vid,
                    user_ids[i],
                    f"Skills reel {i}-{k}",
                    status,
                    1,
                    f"uploads/{vid}.mp4",
                    rng.randrange(5_000_000, 90_000_000),
                    f"processed/{vid}/video.mp4" if processed else None,
                    f"processed/{vid}/poster.jpg" if processed else None,
                    "no video stream" if status == "failed" else None,
                    30.0 if processed else None,
                    0,
                    uploaded_at,
                    uploaded_at,
                    uploaded_at + timedelta(minutes=2) if processed else None,
                    uploaded_at + timedelta(minutes=3) if processed else None,
                    uploaded_at + timedelta(minutes=3),
                )
            )
            if processed:
                video_ids.append(vid)
                video_owner.append(i)

    # Popularity: a power law over the processed videos (a few stars, a long tail).
    n_videos = len(video_ids)
    weights = [1 / (r + 10) ** 0.8 for r in range(n_videos)]
    order = list(range(n_videos))
    rng.shuffle(order)
    cumulative = []
    total = 0.0
    for r in range(n_videos):
        total += weights[r]
        cumulative.append(total)
    pairs: set[tuple[int, int]] = set()
    import bisect

    while len(pairs) < votes:
        video = order[bisect.bisect_left(cumulative, rng.random() * total)]
        voter = rng.randrange(players)
        if voter != video_owner[video]:
            pairs.add((voter, video))
    log(
        f"seed: generated {players} players, {len(video_rows)} videos, {votes} votes "
        f"in {time.perf_counter() - started:.1f} s"
    )

    with psycopg.connect(libpq_url(sqlalchemy_url)) as conn, conn.cursor() as cur:
        t = time.perf_counter()
        _copy(
            cur,
            "users",
            [
                "id",
                "first_name",
                "last_name",
                "email",
                "password_hash",
                "city",
                "city_key",
                "country",
                "created_at",
                "public_videos",
                "votes_received",
                "first_vote_at",
            ],
            (
                (
                    user_ids[i],
                    FIRST_NAMES[i % len(FIRST_NAMES)],
                    f"{LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]} {i}",
                    emails[i],
                    password_hash,
                    cities[i],
                    cities[i].casefold(),
                    "Colombia",
                    now - timedelta(days=60),
                    0,
                    0,
                    None,
                )
                for i in range(players)
            ),
        )
        _copy(
            cur,
            "videos",
            [
                "id",
                "owner_id",
                "title",
                "status",
                "attempt",
                "original_key",
                "size_bytes",
                "processed_key",
                "poster_key",
                "error",
                "duration_seconds",
                "votes",
                "uploaded_at",
                "enqueued_at",
                "processing_at",
                "processed_at",
                "updated_at",
            ],
            video_rows,
        )
        log(f"seed: COPY users+videos {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        base = now - timedelta(days=20)
        _copy(
            cur,
            "votes",
            ["user_id", "video_id", "created_at"],
            (
                (
                    user_ids[voter],
                    video_ids[video],
                    base
                    + timedelta(
                        seconds=rng.randrange(86400 * 19), microseconds=rng.randrange(10**6)
                    ),
                )
                for voter, video in pairs
            ),
        )
        log(f"seed: COPY votes {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        # Aggregates, exactly as the API maintains them, computed from the rows.
        cur.execute(
            """UPDATE videos v SET votes = c.n
               FROM (SELECT video_id, count(*) AS n FROM votes GROUP BY video_id) c
               WHERE v.id = c.video_id"""
        )
        cur.execute(
            """UPDATE users u SET public_videos = c.n
               FROM (SELECT owner_id, count(*) AS n FROM videos WHERE status = 'processed'
                     GROUP BY owner_id) c
               WHERE u.id = c.owner_id"""
        )
        cur.execute(
            """UPDATE users u SET votes_received = c.n, first_vote_at = c.first
               FROM (SELECT v.owner_id, count(*) AS n, min(vt.created_at) AS first
                     FROM votes vt JOIN videos v ON v.id = vt.video_id GROUP BY v.owner_id) c
               WHERE u.id = c.owner_id"""
        )
        conn.commit()
        log(f"seed: aggregates {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        check_aggregates(cur)
        log(f"seed: aggregates checked against the rows {time.perf_counter() - t:.1f} s")
    with psycopg.connect(libpq_url(sqlalchemy_url), autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        log(f"seed: VACUUM ANALYZE {time.perf_counter() - t:.1f} s")
    log(f"seed: total {time.perf_counter() - started:.1f} s")
    return Seeded(user_ids, emails, cities, video_ids, video_owner, len(pairs))


def check_aggregates(cur) -> None:
    """Fail loudly if any stored total disagrees with the votes and videos rows."""
    checks = {
        "videos.votes": """SELECT count(*) FROM videos v
                           LEFT JOIN (SELECT video_id, count(*) AS n FROM votes GROUP BY video_id) c
                           ON c.video_id = v.id WHERE v.votes <> coalesce(c.n, 0)""",
        "users.public_videos": """SELECT count(*) FROM users u
                           LEFT JOIN (SELECT owner_id, count(*) AS n FROM videos
                                      WHERE status = 'processed' GROUP BY owner_id) c
                           ON c.owner_id = u.id WHERE u.public_videos <> coalesce(c.n, 0)""",
        "users.votes_received/first_vote_at": """SELECT count(*) FROM users u LEFT JOIN
                           (SELECT v.owner_id, count(*) n, min(vt.created_at) f FROM votes vt
                            JOIN videos v ON v.id = vt.video_id GROUP BY v.owner_id) c
                           ON c.owner_id = u.id
                           WHERE u.votes_received <> coalesce(c.n, 0)
                              OR u.first_vote_at IS DISTINCT FROM c.f""",
        "votes on unprocessed or own videos": """SELECT count(*) FROM votes vt
                           JOIN videos v ON v.id = vt.video_id
                           WHERE v.status <> 'processed' OR v.owner_id = vt.user_id""",
    }
    for name, sql in checks.items():
        cur.execute(sql)
        bad = cur.fetchone()[0]
        if bad:
            raise AssertionError(f"seed: {bad} rows with an inconsistent {name}")
