"""Engines and session factories for PostgreSQL (cloud) or SQLite (local)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

from vidpipe.settings import Settings, get_settings

# Below the idle timeouts of RDS and of NAT/proxy hops, so a connection is never found silently
# dropped after a quiet night.
POOL_RECYCLE_SECONDS = 1800
# Of a process's VIDPIPE_DB_POOL_SIZE + VIDPIPE_DB_MAX_OVERFLOW connections, the API keeps up to
# this many for its event-loop reads (make_async_read_engine) and its thread-pool engine gets the
# rest: an API task opens no more connections than before, as the Pulumi capacity check counts.
# A read holds its connection for one statement (about one round trip); a read that finds both
# busy waits for one on the event loop, without blocking it. Not measured under load yet.
READ_POOL_SIZE = 2


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised by every test
    # WAL lets readers run beside the single writer; foreign keys are off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def read_pool_size(settings: Settings) -> int:
    """Connections of the API's event-loop read pool: READ_POOL_SIZE, or fewer when the process
    has few, always leaving one to the thread-pool engine."""
    total = settings.db_pool_size + settings.db_max_overflow
    if total < 2:
        raise ValueError(
            "VIDPIPE_DB_POOL_SIZE + VIDPIPE_DB_MAX_OVERFLOW must be at least 2: the API splits "
            "them between its thread-pool engine and its event-loop reads"
        )
    return min(READ_POOL_SIZE, total - 1)


def pool_sizes(settings: Settings, *, beside_reads: bool = False) -> tuple[int, int]:
    """(pool_size, max_overflow) of a thread-pool engine; `beside_reads`: less the connections of
    the read pool, taken from the overflow first (the connections kept open shrink last)."""
    size, overflow = settings.db_pool_size, settings.db_max_overflow
    if not beside_reads:
        return size, overflow
    reads = read_pool_size(settings)
    from_overflow = min(reads, overflow)
    return size - (reads - from_overflow), overflow - from_overflow


def make_engine(url: str, *, pre_ping: bool = True, beside_reads: bool = False) -> Engine:
    """`pre_ping` tests each pooled connection on checkout (a round trip): long-lived loops (the
    poller) survive a database restart without an error. The API turns it off: after a
    restart or failover only the requests in flight answer 503 (the pool is then replaced
    whole), and no request pays a round trip for it. `beside_reads`: the process also has a
    `make_async_read_engine` (the API), whose connections this pool leaves to it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    size, overflow = pool_sizes(get_settings(), beside_reads=beside_reads)
    return create_engine(
        url,
        pool_size=size,
        max_overflow=overflow,
        pool_pre_ping=pre_ping,
        pool_recycle=POOL_RECYCLE_SECONDS,
    )


def make_async_read_engine(url: str) -> AsyncEngine:
    """An engine for the event loop's one-statement reads, on the same database as `make_engine`:
    PostgreSQL through psycopg's async connections, SQLite through aiosqlite. No pre-ping (as the
    API's thread-pool engine)."""
    parsed = make_url(url)
    # Autocommit, set once per connection: the driver sends no BEGIN before the statement, so
    # there is no transaction for the pool to roll back when the connection returns (SQLAlchemy's
    # pooling docs: reset on return can be turned off for autocommit connections).
    autocommit = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}
    if parsed.get_backend_name() == "sqlite":
        # aiosqlite runs each connection in a thread of its own: no check_same_thread needed.
        engine = create_async_engine(
            parsed.set(drivername="sqlite+aiosqlite"), connect_args={"timeout": 30}, **autocommit
        )
        # The pool and its events live on the engine's sync facade (SQLAlchemy's asyncio docs).
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        parsed,
        pool_size=read_pool_size(get_settings()),
        max_overflow=0,
        pool_pre_ping=False,
        pool_recycle=POOL_RECYCLE_SECONDS,
        **autocommit,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: services return rows the caller renders afterwards.
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read with one statement: autocommit, so the driver sends
    no BEGIN before the statement and no ROLLBACK when the connection returns to the pool (two of
    the three round trips of a one-query read). Same pool as `engine`."""
    return sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


def async_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Rows stay readable after the session closes: the route renders them afterwards.
    return async_sessionmaker(engine, expire_on_commit=False)
