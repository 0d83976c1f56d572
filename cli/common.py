"""What every command shares: reading the services' environment, logging, option types."""

from __future__ import annotations

import logging
import os
import signal
import uuid
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from vidpipe import aws
from vidpipe.db.session import make_engine, session_factory
from vidpipe.settings import Settings, get_settings

EnvFile = Annotated[
    str | None,
    typer.Option(
        help="KEY=VALUE file read before the environment's own values "
        "(`vidpipe up` writes DATA_DIR/local.env)."
    ),
]


def configure_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("VIDPIPE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def exit_on_sigterm() -> None:
    """Make SIGTERM a clean exit (status 0, `finally` blocks run).

    uvicorn drains requests on SIGTERM, restores the previous handler and re-raises the signal;
    with the default handler that kills the process before the local cloud is stopped.
    """

    def handler(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


def refresh_settings() -> Settings:
    """Settings and AWS clients as the environment says now."""
    get_settings.cache_clear()
    aws.reset_clients()
    return get_settings()


def load_settings(env_file: str | None = None) -> Settings:
    """The services' settings, after the optional KEY=VALUE file (the environment wins)."""
    if env_file:
        with open(env_file, encoding="utf-8") as lines:
            for line in lines:
                key, sep, value = line.strip().partition("=")
                if sep and not key.startswith("#"):
                    os.environ.setdefault(key.removeprefix("export ").strip(), value.strip())
    configure_logging()
    logging.getLogger("botocore").setLevel(logging.WARNING)
    return refresh_settings()


def sessions(settings: Settings) -> sessionmaker[Session]:
    return session_factory(make_engine(settings.sqlalchemy_url))


def parse_video_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a video id") from None
