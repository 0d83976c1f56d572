"""Engines and session factories for PostgreSQL (cloud) or SQLite (local)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

from vidpipe.settings import get_settings

# Below the idle timeouts of RDS and of NAT/proxy hops, so a connection is never found silently
# dropped after a quiet night.
POOL_RECYCLE_SECONDS = 1800


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised by every test
    # WAL lets readers run beside the single writer; foreign keys are off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """`pre_ping` tests each pooled connection on checkout (a round trip): long-lived loops (the
    poller) survive a database restart without an error. The API turns it off: after a
    restart or failover only the requests in flight answer 503 (the pool is then replaced
    whole), and no request pays a round trip for it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    settings = get_settings()
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=pre_ping,
        pool_recycle=POOL_RECYCLE_SECONDS,
    )


def make_async_read_engine(url: str) -> AsyncEngine:
    """An engine for the event loop's one-statement reads, on the same database as `make_engine`:
    PostgreSQL through psycopg's async connections, SQLite through aiosqlite. No pre-ping (as the
    API's thread-pool engine). Its own pool (VIDPIPE_DB_READ_POOL_SIZE): a read holds its
    connection while its statement waits for a turn of a busy event loop (`read_session` gives
    it back without another), so under load this pool, not the database, bounds the reads'
    latency (docs/benchmarks.md)."""
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
        pool_size=get_settings().db_read_pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_recycle=POOL_RECYCLE_SECONDS,
        **autocommit,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: services return rows the caller renders afterwards.
    return sessionmaker(engine, expire_on_commit=False)


def autocommit_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose every statement is its own transaction (one-statement reads, and sign-ins,
    whose steps are each one atomic statement): the driver sends no BEGIN before a statement and
    no ROLLBACK when the connection returns to the pool (two of the three round trips of a
    one-query read). Same pool as `engine`."""
    return sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


def async_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Rows stay readable after the session closes: the route renders them afterwards.
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def read_session(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for a read on the event loop that gives its connection back at once.

    SQLAlchemy's own `async with` closes the session in a task of its own (so that a second
    cancellation cannot interrupt the close): the connection goes back a turn of the event loop
    later, the answer two turns later, and under load a turn serves tens of requests. Here a
    read that ends normally closes inline, as SQLAlchemy's documented `await session.close()`:
    on this engine's autocommit connections that sends nothing to PostgreSQL. A failure or a
    cancellation still closes shielded."""
    session = maker()
    try:
        yield session
    except BaseException:
        await asyncio.shield(session.close())
        raise
    await session.close()
