"""`vidpipe users grant-operator|revoke-operator EMAIL`: who may use the operators' console.

A database operation on purpose: the public API has no way to make anyone an operator. Run it
where the database is reachable (a local stack: `--env-file DATA_DIR/local.env`; in AWS: an ECS
exec into the API task, or any host inside the VPC).
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import EnvFile, load_settings, sessions
from vidpipe import users

app = typer.Typer(help="Accounts: the operator role (console at /console).", no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="The account's email.")]


def _set(email: str, is_operator: bool, env_file: str | None) -> None:
    settings = load_settings(env_file)
    with sessions(settings)() as session:
        user = users.set_operator(session, email, is_operator)
    if user is None:
        typer.echo(f"no account with email {email}", err=True)
        raise typer.Exit(1)
    role = "is now an operator" if is_operator else "is no longer an operator"
    typer.echo(f"{user.email} ({user.first_name} {user.last_name}) {role}")


@app.command("grant-operator", help="Give an account the operator role (the console).")
def grant_operator(email: Email, env_file: EnvFile = None) -> None:
    _set(email, True, env_file)


@app.command("revoke-operator", help="Take the operator role away from an account.")
def revoke_operator(email: Email, env_file: EnvFile = None) -> None:
    _set(email, False, env_file)
