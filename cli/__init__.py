"""The `vidpipe` command line (Typer): the top layer, one module per group of commands.

It sits above everything (the API, the poller, the local cloud) and nothing imports it.
"""

import typer

from cli import demo, dlq, operations, serve, users

app = typer.Typer(help="vidpipe: the basketball showcase video platform.", no_args_is_help=True)
app.add_typer(serve.app)
app.add_typer(operations.app)
app.add_typer(dlq.app, name="dlq")
app.add_typer(users.app, name="users")
app.add_typer(demo.app)

try:
    # `vidpipe up` runs the local cloud (the `local` extra: moto), which the cloud images leave out.
    from cli import local
except ModuleNotFoundError as exc:
    if exc.name not in ("moto", "localcloud"):
        raise
else:
    app.add_typer(local.app)
