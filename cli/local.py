"""`vidpipe up`: the whole system on one machine, with the embedded local cloud.

Needs the `local` extra (moto), which the cloud images do not install; `cli` registers this
command only where it is present.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from api.main import create_app
from cli.common import configure_logging, exit_on_sigterm, refresh_settings
from cli.serve import SERVER_OPTIONS
from localcloud.cloud import local_cloud
from vidpipe.db.migrate import upgrade_to_head

app = typer.Typer()

UP_HELP = """Start the whole system locally: the API on http://HOST:PORT (docs at /docs), SQLite
under DATA_DIR, and an embedded moto server (on PORT+1) standing in for AWS.

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


@app.command(help=UP_HELP)
def up(
    host: Annotated[str, typer.Option(help="Interface for the API and the local AWS.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="API port; the local AWS listens on PORT+1.")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Where SQLite, logs and task files live.")] = Path(
        "data"
    ),
    local_aws: Annotated[
        bool,
        typer.Option(
            help="Run the embedded moto server; --no-local-aws uses the AWS_* / VIDPIPE_* env."
        ),
    ] = True,
    webhook: Annotated[
        str | None,
        typer.Option(
            help="POST each completion event (Video Processed / Video Failed) to this URL; "
            "also the VIDPIPE_WEBHOOK_URL setting."
        ),
    ] = None,
) -> None:
    configure_logging()
    exit_on_sigterm()
    data_dir = data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("VIDPIPE_DATABASE_URL", f"sqlite:///{data_dir / 'vidpipe.db'}")
    if not local_aws:
        os.environ["VIDPIPE_DATABASE_URL"] = database_url
        settings = refresh_settings()
        upgrade_to_head(settings.sqlalchemy_url)
        uvicorn.run(create_app(settings), host=host, port=port, **SERVER_OPTIONS)
        return
    try:
        with local_cloud(
            database_url=database_url,
            host=host,
            port=port + 1,
            data_dir=data_dir,
            api_base_url=f"http://{host}:{port}",
            webhook_url=webhook,
        ) as (_cloud, settings):
            # uvicorn installs SIGTERM/SIGINT handlers, returns after a graceful shutdown (requests
            # in flight get a bounded time: `vidpipe up` exits within 5 s of SIGTERM) and then
            # re-raises the signal (exit_on_sigterm: SystemExit).
            uvicorn.run(
                create_app(settings),
                host=host,
                port=port,
                timeout_graceful_shutdown=1,
                **SERVER_OPTIONS,
            )
    finally:
        # Everything is stopped. The interpreter's final garbage collections would walk moto's
        # and botocore's object graphs for seconds; frozen objects are skipped.
        gc.freeze()
