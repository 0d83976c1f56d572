"""`vidpipe demo`: the whole product end to end, through the public API like any client.

Against a running `vidpipe up` (or one it starts): make a test clip with ffmpeg, sign up, upload,
watch the progress, show the output's properties (ffprobe), where it is, and the run's history.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Annotated

import typer

from vidpipe import history as hist

app = typer.Typer()


def _http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    content_type: str | None = None,
    timeout: float = 30,
) -> tuple[int, object]:
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


def make_test_clip(
    path, *, seconds: float, width: int, height: int, rate: int = 30, audio: bool = True
) -> None:
    """A synthetic basketball-free but honest clip: moving test pattern (+ a tone unless
    `audio=False`), H.264(/AAC) MP4."""
    tone = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"] if audio else []
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
            f"testsrc2=size={width}x{height}:rate={rate}:duration={seconds}",
            *tone,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            *(["-c:a", "aac", "-shortest"] if audio else []),
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
    )


def ffprobe_summary(path) -> dict:
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
    api: Annotated[str, typer.Option(help="The API's base URL.")] = "http://127.0.0.1:8000",
    start: Annotated[
        bool, typer.Option(help="Start `vidpipe up` if the API does not answer.")
    ] = True,
    data_dir: Annotated[
        str, typer.Option(help="DATA_DIR for a `vidpipe up` started by the demo.")
    ] = "data",
    seconds: Annotated[
        float, typer.Option(help="Test clip length (policy default: 20..60 s).")
    ] = 22.0,
    height: Annotated[int, typer.Option(help="Test clip height (policy default: >= 1080).")] = 1080,
    timeout: Annotated[
        float, typer.Option(help="Give up after this many seconds of processing.")
    ] = 600.0,
) -> None:
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
                "cli",
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
