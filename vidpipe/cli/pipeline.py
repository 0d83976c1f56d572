"""`vidpipe poller`, `vidpipe history`, `vidpipe retry`, `vidpipe dlq list|redrive`, `vidpipe demo`.

They read the same environment as the services (docs/architecture.md); against a local
`vidpipe up`, point them at it with the values it prints (or use `vidpipe demo`, which only needs
the API's URL).
"""

from __future__ import annotations

import json
import logging
import uuid

import typer

from vidpipe.cli import app

log = logging.getLogger(__name__)

dlq_app = typer.Typer(
    help="The dead-letter queue: videos whose processing failed.", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")


ENV_FILE_HELP = "KEY=VALUE file read before the environment's own values (`vidpipe up` writes DATA_DIR/local.env)."


def _settings(env_file: str | None = None):
    import os

    from vidpipe.cli.serve import _refresh_settings, configure_logging

    if env_file:
        for line in open(env_file, encoding="utf-8"):
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                os.environ.setdefault(key.removeprefix("export ").strip(), value.strip())
    configure_logging()
    logging.getLogger("botocore").setLevel(logging.WARNING)
    return _refresh_settings()


def _sessions(settings):
    from vidpipe.db.session import make_engine, session_factory

    return session_factory(make_engine(settings.sqlalchemy_url))


def _video_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a video id") from None


@app.command(
    help="Run the poller: jobs queue -> executions, status queue -> database, sweeper. "
    "SIGTERM drains: in-hand messages are finished, nothing is lost."
)
def poller(
    wait_seconds: int = typer.Option(10, help="SQS long-poll wait (also bounds the drain time)."),
    sweep_interval: float = typer.Option(60.0, help="Seconds between sweeps for stuck videos."),
    env_file: str = typer.Option(None, help=ENV_FILE_HELP),
) -> None:
    from poller.service import PollerService

    settings = _settings(env_file)
    missing = [
        name
        for name, value in (
            ("VIDPIPE_JOBS_QUEUE_URL", settings.jobs_queue_url),
            ("VIDPIPE_STATUS_QUEUE_URL", settings.status_queue_url),
            ("VIDPIPE_STATE_MACHINE_ARN", settings.state_machine_arn),
        )
        if not value
    ]
    if missing:
        typer.echo(f"missing configuration: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    PollerService(
        settings,
        _sessions(settings),
        wait_seconds=wait_seconds,
        sweep_interval_seconds=sweep_interval,
    ).run_until_signalled()


@app.command(help="Print a video's processing run (its Step Functions execution) as a timeline.")
def history(
    video_id: str = typer.Argument(..., help="The video id (the upload's video_id)."),
    attempt: int = typer.Option(None, help="Which attempt (default: the video's current one)."),
    everything: bool = typer.Option(
        False, "--all", help="Also show scheduled/started/submitted events."
    ),
    as_json: bool = typer.Option(False, "--json", help="Rows as JSON."),
    env_file: str = typer.Option(None, help=ENV_FILE_HELP),
) -> None:
    from vidpipe import history as hist

    settings = _settings(env_file)
    vid = _video_id(video_id)
    if attempt is None:
        # From the orchestrator, not the database: this works from an operator's laptop against
        # the deployed state machine, where the private database is out of reach.
        attempt = hist.latest_attempt(str(vid), settings)
        if attempt is None:
            typer.echo(f"no execution for video {vid}: not started yet, or unknown", err=True)
            raise typer.Exit(1)
    name = f"{vid}-{attempt}"
    try:
        rows = hist.video_timeline(str(vid), attempt, settings)
    except hist.NoHistory:
        typer.echo(f"no execution {name}: not started yet, or the orchestrator lost it", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(hist.rows_as_json(rows))
        return
    typer.echo(f"execution {name}")
    typer.echo(hist.format_timeline(rows, everything=everything))


@app.command(help="Start a new processing attempt of a failed video.")
def retry(
    video_id: str = typer.Argument(..., help="The failed video's id."),
    env_file: str = typer.Option(None, help=ENV_FILE_HELP),
) -> None:
    from vidpipe import videos
    from vidpipe.db.models import Video, VideoStatus

    settings = _settings(env_file)
    vid = _video_id(video_id)
    with _sessions(settings)() as session:
        video = session.get(Video, vid)
        if video is None:
            typer.echo(f"no video {vid}", err=True)
            raise typer.Exit(1)
        if video.status != VideoStatus.failed.value:
            typer.echo(
                f"video {vid} is {video.status}; only a failed video can be retried", err=True
            )
            raise typer.Exit(1)
        queued = videos.start_new_attempt(session, video, settings)
        typer.echo(
            f"video {vid}: attempt {video.attempt} ({video.execution_name}) "
            + ("queued" if queued else "will be queued by the sweeper (the jobs queue refused it)")
        )


def _dlq_messages(settings, limit: int) -> list[dict]:
    """Receive up to `limit` DLQ messages, hidden for 30 s (the caller releases or deletes them)."""
    from vidpipe import aws

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


def _describe(body: str) -> dict:
    """A DLQ message: the state machine's `video.failed` envelope, the sweeper's, or a raw jobs
    message that the jobs queue moved after maxReceiveCount failed starts."""
    try:
        data = json.loads(body)
    except ValueError:
        return {
            "video_id": None,
            "attempt": None,
            "error": "unreadable message",
            "cause": body[:200],
        }
    if data.get("type") == "video.failed":
        error = data.get("error") or {}
        original = data.get("message") or {}
        return {
            "video_id": original.get("video_id"),
            "attempt": original.get("attempt"),
            "execution": data.get("execution"),
            "error": error.get("Error"),
            "cause": error.get("Cause"),
        }
    return {
        "video_id": data.get("video_id"),
        "attempt": data.get("attempt"),
        "execution": None,
        "error": "NeverStarted",
        "cause": "the jobs queue moved it here after repeated failed starts",
    }


def _release(settings, messages: list[dict]) -> None:
    from vidpipe import aws

    for message in messages:
        aws.client("sqs").change_message_visibility(
            QueueUrl=settings.dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


@dlq_app.command("list", help="List the DLQ's messages (they stay in the queue).")
def dlq_list(
    limit: int = typer.Option(100, help="At most this many messages."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
    env_file: str = typer.Option(None, help=ENV_FILE_HELP),
) -> None:
    settings = _settings(env_file)
    messages = _dlq_messages(settings, limit)
    try:
        rows = [_describe(m["Body"]) for m in messages]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            typer.echo("the DLQ is empty")
            return
        typer.echo(f"{'VIDEO':<36}  {'ATT':>3}  {'ERROR':<24}  CAUSE")
        for row in rows:
            cause = " ".join(str(row.get("cause") or "").split())[:100]
            typer.echo(
                f"{row['video_id'] or '?':<36}  {row['attempt'] or '?':>3}  "
                f"{row['error'] or '?':<24}  {cause}"
            )
        typer.echo(f"{len(rows)} message(s)")
    finally:
        _release(settings, messages)


@dlq_app.command(
    "redrive",
    help="Start a new attempt for the failed videos in the DLQ; "
    "messages of videos that are gone, processed or already retried are removed.",
)
def dlq_redrive(
    video: list[str] = typer.Option(None, "--video", help="Only these video ids (repeatable)."),
    limit: int = typer.Option(100, help="At most this many messages."),
    env_file: str = typer.Option(None, help=ENV_FILE_HELP),
) -> None:
    from vidpipe import aws, videos
    from vidpipe.db.models import Video, VideoStatus

    settings = _settings(env_file)
    only = {str(_video_id(v)) for v in video or []}
    messages = _dlq_messages(settings, limit)
    keep, counts = [], {"redriven": 0, "removed": 0, "kept": 0}
    sessions = _sessions(settings)
    for message in messages:
        info = _describe(message["Body"])
        vid = info.get("video_id")
        if only and vid not in only:
            keep.append(message)
            continue
        with sessions() as session:
            row = session.get(Video, uuid.UUID(vid)) if vid else None
            if (
                row is None
                or row.status == VideoStatus.processed.value
                or (info.get("attempt") is not None and int(info["attempt"]) < row.attempt)
            ):
                action = "removed"  # nothing to do any more
            elif row.status in (VideoStatus.failed.value, VideoStatus.uploaded.value):
                videos.start_new_attempt(session, row, settings)
                action = "redriven"
                typer.echo(f"video {vid}: attempt {row.attempt} queued")
            else:
                action = "kept"  # processing: a run is in progress, decide later
        counts[action] += 1
        if action == "kept":
            keep.append(message)
        else:
            aws.client("sqs").delete_message(
                QueueUrl=settings.dlq_url, ReceiptHandle=message["ReceiptHandle"]
            )
    _release(settings, keep)
    typer.echo(
        f"{counts['redriven']} redriven, {counts['removed']} removed (nothing to do), "
        f"{counts['kept']} kept"
    )


# --- vidpipe demo -------------------------------------------------------------------------------


def _http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    content_type: str | None = None,
    timeout: float = 30,
) -> tuple[int, object]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw


def _multipart(
    fields: dict[str, str], file_field: str, filename: str, data: bytes
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{filename}"\r\nContent-Type: video/mp4\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _api_up(api: str) -> bool:
    try:
        return _http("GET", f"{api}/api/health", timeout=2)[0] == 200
    except OSError:
        return False


def make_test_clip(path, *, seconds: float, width: int, height: int) -> None:
    """A synthetic basketball-free but honest clip: moving test pattern + a tone, H.264/AAC MP4."""
    import subprocess

    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={width}x{height}:rate=30:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
    )


def ffprobe_summary(path) -> dict:
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out)
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), {})
    return {
        "codec": video.get("codec_name"),
        "profile": video.get("profile"),
        "size": f"{video.get('width')}x{video.get('height')}",
        "display_aspect_ratio": video.get("display_aspect_ratio"),
        "sample_aspect_ratio": video.get("sample_aspect_ratio"),
        "pix_fmt": video.get("pix_fmt"),
        "frame_rate": video.get("r_frame_rate"),
        "duration_seconds": round(float(info.get("format", {}).get("duration", 0)), 3),
        "audio_streams": sum(s.get("codec_type") == "audio" for s in streams),
        "bytes": int(info.get("format", {}).get("size", 0)),
    }


@app.command(
    help="End-to-end demo against a running `vidpipe up` (or one it starts): make a test "
    "clip with ffmpeg, sign up, upload through the API, wait for processing, show the "
    "output's properties, where it is, and the run's history. Exits non-zero on failure."
)
def demo(
    api: str = typer.Option("http://127.0.0.1:8000", help="The API's base URL."),
    start: bool = typer.Option(True, help="Start `vidpipe up` if the API does not answer."),
    data_dir: str = typer.Option("data", help="DATA_DIR for a `vidpipe up` started by the demo."),
    seconds: float = typer.Option(22.0, help="Test clip length (policy default: 20..60 s)."),
    height: int = typer.Option(1080, help="Test clip height (policy default: >= 1080)."),
    timeout: float = typer.Option(600.0, help="Give up after this many seconds of processing."),
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import tempfile
    import time
    import urllib.parse
    import urllib.request
    from pathlib import Path

    from vidpipe import history as hist

    api = api.rstrip("/")
    server = None
    data = Path(data_dir).resolve()
    if not _api_up(api):
        if not start:
            typer.echo(f"no API at {api} (start `vidpipe up`, or drop --no-start)", err=True)
            raise typer.Exit(1)
        port = urllib.parse.urlparse(api).port or 8000
        data.mkdir(parents=True, exist_ok=True)
        typer.echo(
            f"starting `vidpipe up --port {port} --data-dir {data}` (log: {data / 'up.log'})"
        )
        log_file = open(data / "up.log", "ab")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vidpipe.cli",
                "up",
                "--port",
                str(port),
                "--data-dir",
                str(data),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not _api_up(api):
            if server.poll() is not None or time.monotonic() > deadline:
                typer.echo("`vidpipe up` did not come up; see up.log", err=True)
                raise typer.Exit(1)
            time.sleep(0.3)
    failed = True
    try:
        work = Path(tempfile.mkdtemp(prefix="vidpipe-demo-"))
        clip = work / "demo-input.mp4"
        width = height * 16 // 9 // 2 * 2
        typer.echo(f"1. test clip: {width}x{height}, {seconds:g} s (ffmpeg testsrc2 + tone)")
        make_test_clip(clip, seconds=seconds, width=width, height=height)
        email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
        password = uuid.uuid4().hex
        status, body = _http(
            "POST",
            f"{api}/api/auth/signup",
            content_type="application/json",
            body=json.dumps(
                {
                    "first_name": "Demo",
                    "last_name": "Player",
                    "email": email,
                    "password1": password,
                    "password2": password,
                    "city": "Bogotá",
                    "country": "Colombia",
                }
            ).encode(),
        )
        if status != 201:
            raise RuntimeError(f"signup answered {status}: {body}")
        status, body = _http(
            "POST",
            f"{api}/api/auth/login",
            content_type="application/json",
            body=json.dumps({"email": email, "password": password}).encode(),
        )
        if status != 200:
            raise RuntimeError(f"login answered {status}: {body}")
        token = body["access_token"]
        typer.echo(f"2. signed up and logged in as {email}")
        payload, ctype = _multipart(
            {"title": "vidpipe demo"}, "video_file", clip.name, clip.read_bytes()
        )
        started = time.monotonic()
        status, body = _http(
            "POST",
            f"{api}/api/videos/upload",
            token=token,
            body=payload,
            content_type=ctype,
            timeout=120,
        )
        if status != 201:
            raise RuntimeError(f"upload answered {status}: {body}")
        video_id = body["video_id"]
        typer.echo(f"3. uploaded: video {video_id}, task {body['task_id']}")
        spinner, last = "|/-\\", None
        i = 0
        while True:
            status, video = _http("GET", f"{api}/api/videos/{video_id}", token=token)
            if status != 200:
                raise RuntimeError(f"GET video answered {status}: {video}")
            elapsed = time.monotonic() - started
            if video["status"] != last:
                if last is not None:
                    typer.echo("")
                last = video["status"]
            typer.echo(f"\r4. {spinner[i % 4]} {video['status']:<10} {elapsed:6.1f} s", nl=False)
            i += 1
            if video["status"] in ("processed", "failed"):
                typer.echo("")
                break
            if elapsed > timeout:
                typer.echo("")
                raise RuntimeError(f"still {video['status']} after {timeout:g} s")
            time.sleep(0.5)
        if video["status"] == "failed":
            typer.echo(f"   processing failed: {video.get('error')}", err=True)
        else:
            out = data / "demo" / f"{video_id}.mp4"
            out.parent.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(video["processed_url"], timeout=60) as r:
                out.write_bytes(r.read())
            typer.echo(f"5. processed in {elapsed:.1f} s; output properties (ffprobe):")
            for key, value in ffprobe_summary(out).items():
                typer.echo(f"   {key:<22} {value}")
            bucket = os.environ.get("VIDPIPE_BUCKET", "vidpipe-media")
            typer.echo(f"   stored at   s3://{bucket}/processed/{video_id}/clip.mp4 (+ poster.jpg)")
            typer.echo(f"   local copy  {out}")
        status, rows = _http("GET", f"{api}/api/videos/{video_id}/history", token=token)
        if status == 200:
            typer.echo(
                f"6. history (GET /api/videos/{{id}}/history; also `vidpipe history {video_id}`):"
            )
            typer.echo(hist.format_timeline(rows))
        else:
            typer.echo(f"6. history unavailable ({status}): {rows}", err=True)
        failed = video["status"] != "processed" or status != 200
    except (RuntimeError, OSError, KeyError, subprocess.CalledProcessError) as exc:
        typer.echo(f"\ndemo failed: {exc}", err=True)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(server.pid, signal.SIGKILL)
    if failed:
        raise typer.Exit(1)
    typer.echo("demo OK")
