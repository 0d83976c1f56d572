"""The `vidpipe` command line (Typer): one module per group of commands."""

import typer

app = typer.Typer(help="vidpipe: the basketball showcase video platform.", no_args_is_help=True)

# Imported for their side effect of registering commands on `app`.
from vidpipe.cli import (
    pipeline,  # noqa: E402,F401
    serve,  # noqa: E402,F401
)
