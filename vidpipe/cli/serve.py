"""`vidpipe up`, `vidpipe api` and `vidpipe migrate`."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import typer
import uvicorn

from vidpipe.cli import app

UP_HELP = """Start the whole system locally: the API on http://HOST:PORT (docs at /docs), SQLite under
DATA_DIR, and an embedded moto server (on PORT+1) standing in for AWS.

Several stacks run side by side when each has its own --port and --data-dir.

To use real services instead, set the same environment variables as the cloud task definitions:

\b
  VIDPIPE_DATABASE_URL       e.g. postgresql+psycopg://vidpipe@localhost:5432/vidpipe
  VIDPIPE_DATABASE_PASSWORD  merged into the URL (kept out of it so it can be a secret)
  VIDPIPE_JWT_SECRET         the token signing secret
and, with --no-local-aws, the AWS side (credentials as boto3 finds them):
\b
  AWS_DEFAULT_REGION, VIDPIPE_BUCKET, VIDPIPE_JOBS_QUEUE_URL, VIDPIPE_STATUS_QUEUE_URL,
  VIDPIPE_DLQ_URL, VIDPIPE_STATE_MACHINE_ARN
"""


def configure_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("VIDPIPE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def exit_on_sigterm() -> None:
    """Make SIGTERM a clean exit (status 0, `finally` blocks run).

    uvicorn drains requests on SIGTERM, restores the previous handler and re-raises the signal;
    with the default handler that kills the process before the local stack is stopped.
    """

    def handler(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


def _refresh_settings():
    from vidpipe import aws
    from vidpipe.settings import get_settings

    get_settings.cache_clear()
    aws.reset_clients()
    return get_settings()


@app.command(help="Apply the database migrations (VIDPIPE_DATABASE_URL).")
def migrate() -> None:
    from vidpipe.db.migrate import upgrade_to_head

    configure_logging()
    upgrade_to_head(_refresh_settings().sqlalchemy_url)


@app.command(help="Serve the API only (the cloud task's command); migrates first.")
def api(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, help="Worker processes (Python serves one CPU per process); default 1 per task."
    ),
) -> None:
    from api.main import create_app
    from vidpipe.db.migrate import upgrade_to_head

    configure_logging()
    exit_on_sigterm()
    settings = _refresh_settings()
    upgrade_to_head(settings.sqlalchemy_url)
    if workers > 1:
        # Each worker builds its own app from the environment (an app object can't be shared).
        uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers)
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command(help=UP_HELP)
def up(
    host: str = typer.Option("127.0.0.1", help="Interface for the API and the local AWS."),
    port: int = typer.Option(8000, help="API port; the local AWS listens on PORT+1."),
    data_dir: Path = typer.Option(Path("data"), help="Where SQLite, logs and task files live."),
    local_aws: bool = typer.Option(
        True, help="Run the embedded moto server; --no-local-aws uses the AWS_* / VIDPIPE_* env."
    ),
) -> None:
    from api.main import create_app
    from localcloud.stack import LocalStack
    from vidpipe.db.migrate import upgrade_to_head

    configure_logging()
    exit_on_sigterm()
    data_dir = data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VIDPIPE_DATABASE_URL", f"sqlite:///{data_dir / 'vidpipe.db'}")
    stack = LocalStack(host=host, port=port + 1, data_dir=data_dir) if local_aws else None
    try:
        if stack is not None:
            stack.start()
        settings = _refresh_settings()
        upgrade_to_head(settings.sqlalchemy_url)
        if stack is not None:
            stack.start_workers(settings)
        # uvicorn installs SIGTERM/SIGINT handlers and returns after a graceful shutdown.
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    finally:
        if stack is not None:
            stack.stop()
