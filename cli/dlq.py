"""`vidpipe dlq list` and `vidpipe dlq redrive`: the videos whose processing failed."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli import poller_client
from cli.common import EnvFile, load_settings, parse_video_id
from vidpipe import dlq

app = typer.Typer(
    help="The dead-letter queue: videos whose processing failed.", no_args_is_help=True
)

Limit = Annotated[int, typer.Option(help="At most this many messages.")]


@app.command("list", help="List the DLQ's messages (they stay in the queue).")
def dlq_list(
    limit: Limit = 100,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
    env_file: EnvFile = None,
) -> None:
    settings = load_settings(env_file)
    rows = dlq.entries(settings, limit)
    if as_json:
        typer.echo(json.dumps([row.model_dump() for row in rows], indent=2))
        return
    if not rows:
        typer.echo("the DLQ is empty")
        return
    typer.echo(f"{'VIDEO':<36}  {'ATT':>3}  {'ERROR':<24}  CAUSE")
    for row in rows:
        cause = " ".join((row.cause or "").split())[:100]
        typer.echo(
            f"{row.video_id or '?':<36}  {row.attempt or '?':>3}  {row.error or '?':<24}  {cause}"
        )
    typer.echo(f"{len(rows)} message(s)")


@app.command(
    "redrive",
    help="Start a new attempt for the failed videos in the DLQ; "
    "messages of videos that are gone, processed or already retried are removed.",
)
def dlq_redrive(
    video: Annotated[
        list[str] | None, typer.Option("--video", help="Only these video ids (repeatable).")
    ] = None,
    limit: Limit = 100,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the poller's answers.")] = 60,
    env_file: EnvFile = None,
) -> None:
    settings = load_settings(env_file)
    only = {str(parse_video_id(v)) for v in video or []}
    try:
        outcome = dlq.redrive(
            settings, lambda commands: poller_client.retry(settings, commands, timeout), only, limit
        )
    except poller_client.NoAnswer as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    for line in outcome.redriven:
        typer.echo(line)
    typer.echo(outcome.describe())
