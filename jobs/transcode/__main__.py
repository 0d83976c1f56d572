"""`python -m jobs.transcode`: the ECS job (no arguments, parameters from the environment), or
the same processing as a local command: `--input IN.mp4 --output OUT.mp4 [--poster OUT.jpg]`."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

import typer

from .errors import TranscodeError
from .job import process_file, run_job, stop_on_signals
from .runner import Cancellation
from .settings import TranscodeSettings

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

# Local-command exit codes (the ECS job exits 0 once it has reported, see run_job).
EXIT_FAILED, EXIT_INVALID_INPUT = 1, 3


@app.command()
def main(
    input: Path | None = typer.Option(
        None, "--input", "-i", help="Local input video (local mode)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output MP4 (local mode)."),
    poster: Path | None = typer.Option(
        None, "--poster", help="Poster JPEG (default: next to the output)."
    ),
    no_policy: bool = typer.Option(
        False, "--no-policy", help="Skip the duration/resolution policy checks."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Transcode one video. Without --input: run as the ECS job (see docs/transcode.md)."""
    try:
        settings = TranscodeSettings()
    except Exception as exc:  # invalid VIDPIPE_* value: say which, do not start
        typer.echo(f"invalid settings: {exc}", err=True)
        raise typer.Exit(2)
    tag = f"[{settings.video_id}] " if settings.video_id and input is None else ""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s transcode {tag}%(message)s",
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if input is None:
        if output is not None or poster is not None:
            typer.echo("--output/--poster need --input", err=True)
            raise typer.Exit(2)
        raise typer.Exit(run_job(settings))
    if output is None:
        typer.echo("--input needs --output", err=True)
        raise typer.Exit(2)
    poster = poster or output.with_suffix(".jpg")
    cancellation = Cancellation()
    try:
        with stop_on_signals(cancellation):
            result = process_file(
                input,
                output,
                poster,
                settings,
                cancellation=cancellation,
                apply_policy=not no_policy,
            )
    except TranscodeError as exc:
        typer.echo(f"{exc.error}: {exc.cause}", err=True)
        raise typer.Exit(
            EXIT_INVALID_INPUT if exc.error == "Transcode.InvalidInput" else EXIT_FAILED
        )
    summary = {k: v for k, v in asdict(result).items() if k != "command"}
    typer.echo(json.dumps({"output": str(output), "poster": str(poster), **summary}))


if __name__ == "__main__":
    app(prog_name="python -m jobs.transcode")
