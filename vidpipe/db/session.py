"""Engines and session factories for PostgreSQL (cloud) or SQLite (local)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from vidpipe.settings import get_settings


def make_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """`pre_ping` tests each pooled connection on checkout (a round trip): long-lived loops (the
    poller) survive a database restart without an error. The API turns it off: after a
    restart or failover only the requests in flight answer 503 (the pool is then replaced
    whole), and no request pays a round trip for it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            # WAL lets readers run beside the single writer; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    settings = get_settings()
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=pre_ping,
        # Below the idle timeouts of RDS and of NAT/proxy hops, so a connection is never found
        # silently dropped after a quiet night.
        pool_recycle=1800,
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
