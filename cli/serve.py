"""`vidpipe api` and `vidpipe migrate`: the API service's commands (the cloud image runs them)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from api.main import create_app
from cli.common import configure_logging, exit_on_sigterm, refresh_settings
from vidpipe.db.migrate import upgrade_to_head

app = typer.Typer()

# uvloop's event loop and httptools' parser (uvicorn[standard], pinned in pyproject.toml) serve
# ~2x the requests of asyncio + h11 per core, and set TCP_NODELAY on every accepted connection
# also with several workers (uvicorn #3149: on plain asyncio the workers' inherited socket never
# gets it, so each keep-alive answer waited ~40 ms for a delayed ACK). Named, not "auto", so a
# missing extra fails at start instead of silently serving at half speed. No "server: uvicorn"
# banner (`vidpipe up` serves with the same options).
SERVER_OPTIONS = {
    "loop": "uvloop",
    "http": "httptools",
    "log_level": "info",
    "server_header": False,
    # The client address and scheme come from X-Forwarded-* only through
    # VIDPIPE_TRUSTED_PROXY_COUNT (api/deps.py), not also from uvicorn's own trust of 127.0.0.1.
    "proxy_headers": False,
}


@app.command(help="Apply the database migrations (VIDPIPE_DATABASE_URL).")
def migrate() -> None:
    configure_logging()
    upgrade_to_head(refresh_settings().sqlalchemy_url)


@app.command(help="Serve the API only (the cloud task's command); migrates first.")
def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (Python serves one CPU per process); default 1 per task.",
        ),
    ] = 1,
) -> None:
    configure_logging()
    exit_on_sigterm()
    settings = refresh_settings()
    upgrade_to_head(settings.sqlalchemy_url)
    if workers > 1:
        # Each worker builds its own app from the environment (an app object can't be shared).
        uvicorn.run(
            "api.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **SERVER_OPTIONS,
        )
    else:
        uvicorn.run(create_app(settings), host=host, port=port, **SERVER_OPTIONS)
