"""`vidpipe poller`, `vidpipe history` and `vidpipe retry`.

They read the same environment as the services (docs/architecture.md); against a local
`vidpipe up`, pass `--env-file DATA_DIR/local.env`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli import poller_client
from cli.common import EnvFile, load_settings, parse_video_id, sessions
from poller.service import PollerService
from vidpipe import history as hist
from vidpipe import runs
from vidpipe.contracts import RetryCommand, execution_name
from vidpipe.operations import RetryOutcome

app = typer.Typer()


@app.command(
    help="Run the poller: jobs queue -> executions, status queue -> database, sweeper. "
    "SIGTERM drains: in-hand messages are finished, nothing is lost."
)
def poller(
    wait_seconds: Annotated[
        int, typer.Option(help="SQS long-poll wait (also bounds the drain time).")
    ] = 10,
    sweep_interval: Annotated[
        float, typer.Option(help="Seconds between sweeps for stuck videos.")
    ] = 60.0,
    env_file: EnvFile = None,
) -> None:
    settings = load_settings(env_file)
    required = {
        "VIDPIPE_JOBS_QUEUE_URL": settings.jobs_queue_url,
        "VIDPIPE_STATUS_QUEUE_URL": settings.status_queue_url,
        "VIDPIPE_STATE_MACHINE_ARN": settings.state_machine_arn,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        typer.echo(f"missing configuration: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    PollerService(
        settings,
        sessions(settings),
        wait_seconds=wait_seconds,
        sweep_interval_seconds=sweep_interval,
    ).run_until_signalled()


@app.command(help="Print a video's processing run (its Step Functions execution) as a timeline.")
def history(
    video_id: Annotated[str, typer.Argument(help="The video id (the upload's video_id).")],
    attempt: Annotated[
        int | None, typer.Option(help="Which attempt (default: the video's current one).")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Also show scheduled/started/submitted events.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Rows as JSON.")] = False,
    env_file: EnvFile = None,
) -> None:
    settings = load_settings(env_file)
    vid = parse_video_id(video_id)
    if attempt is None:
        # From the orchestrator, not the database: this works from an operator's laptop against
        # the deployed state machine, where the private database is out of reach.
        attempt = hist.latest_attempt(str(vid), settings)
        if attempt is None:
            typer.echo(f"no execution for video {vid}: not started yet, or unknown", err=True)
            raise typer.Exit(1)
    name = execution_name(vid, attempt)
    try:
        events = hist.video_events(str(vid), attempt, settings)
    except hist.NoHistory:
        typer.echo(f"no execution {name}: not started yet, or the orchestrator lost it", err=True)
        raise typer.Exit(1) from None
    rows = hist.timeline(events)
    if as_json:
        typer.echo(hist.rows_as_json(rows))
        return
    typer.echo(f"execution {name}")
    typer.echo(hist.format_timeline(rows, everything=everything))
    result = hist.job_result(events)
    if result is not None:
        typer.echo(hist.format_cost(result, runs.usage_cost(result, settings)))


@app.command(
    help="Start a new processing attempt of a failed video. The poller carries it out (no "
    "database access needed) and answers with what it did."
)
def retry(
    video_id: Annotated[str, typer.Argument(help="The failed video's id.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the poller's answer.")] = 60,
    env_file: EnvFile = None,
) -> None:
    settings = load_settings(env_file)
    command = RetryCommand(video_id=parse_video_id(video_id))
    try:
        (reply,) = poller_client.retry(settings, [command], timeout)
    except poller_client.NoAnswer as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    if reply.outcome != RetryOutcome.RETRIED:
        typer.echo(reply.detail, err=True)
        raise typer.Exit(1)
    typer.echo(reply.detail)
