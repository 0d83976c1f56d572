"""`vidpipe dlq list` and `vidpipe dlq redrive`: the videos whose processing failed."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer

from cli import poller_client
from cli.common import EnvFile, load_settings, parse_video_id
from vidpipe import aws
from vidpipe.contracts import RetryCommand, describe_dlq_body
from vidpipe.operations import RetryOutcome
from vidpipe.settings import Settings

app = typer.Typer(
    help="The dead-letter queue: videos whose processing failed.", no_args_is_help=True
)

Limit = Annotated[int, typer.Option(help="At most this many messages.")]


def receive(settings: Settings, limit: int) -> list[dict]:
    """Receive up to `limit` DLQ messages, hidden for 30 s (the caller releases or deletes them)."""
    sqs = aws.client("sqs")
    seen: dict[str, dict] = {}
    empty = 0
    while len(seen) < limit and empty < 2:
        batch = sqs.receive_message(
            QueueUrl=settings.dlq_url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=30,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        empty = empty + 1 if not batch else 0
        for message in batch:
            seen[message["MessageId"]] = message
    return list(seen.values())


def release(settings: Settings, messages: list[dict]) -> None:
    for message in messages:
        aws.client("sqs").change_message_visibility(
            QueueUrl=settings.dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


@app.command("list", help="List the DLQ's messages (they stay in the queue).")
def dlq_list(
    limit: Limit = 100,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
    env_file: EnvFile = None,
) -> None:
    settings = load_settings(env_file)
    messages = receive(settings, limit)
    try:
        rows = [describe_dlq_body(m["Body"]) for m in messages]
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
                f"{row.video_id or '?':<36}  {row.attempt or '?':>3}  "
                f"{row.error or '?':<24}  {cause}"
            )
        typer.echo(f"{len(rows)} message(s)")
    finally:
        release(settings, messages)


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
    messages = receive(settings, limit)
    chosen: list[tuple[dict, RetryCommand]] = []
    keep: list[dict] = []
    for message in messages:
        entry = describe_dlq_body(message["Body"])
        if entry.video_id is None or (only and entry.video_id not in only):
            keep.append(message)
            continue
        command = RetryCommand(
            video_id=uuid.UUID(entry.video_id), failed_attempt=entry.attempt, from_dlq=True
        )
        chosen.append((message, command))
    try:
        replies = poller_client.retry(settings, [c for _, c in chosen], timeout)
    except poller_client.NoAnswer as exc:
        release(settings, messages)
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    counts = {"redriven": 0, "removed": 0, "kept": 0}
    for (message, _), reply in zip(chosen, replies, strict=True):
        outcome = RetryOutcome(reply.outcome)
        if outcome is RetryOutcome.RETRIED:
            counts["redriven"] += 1
            typer.echo(reply.detail)
        elif outcome.settled:
            counts["removed"] += 1  # nothing to do any more
        else:
            counts["kept"] += 1  # processing: a run is in progress, decide later
            keep.append(message)
            continue
        aws.client("sqs").delete_message(
            QueueUrl=settings.dlq_url, ReceiptHandle=message["ReceiptHandle"]
        )
    release(settings, keep)
    typer.echo(
        f"{counts['redriven']} redriven, {counts['removed']} removed (nothing to do), "
        f"{counts['kept']} kept"
    )
