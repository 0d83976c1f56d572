"""Early answers reach clients that send the whole body before reading (issue 9, point 6).

Python's urllib writes the entire request body, then reads. When the server answers early (no
token, a bad form, too large) and closes with unread data, the client gets "connection reset"
instead of the answer; the server must drain a bounded remainder first. Real uvicorn, real sockets.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from api.main import create_app
from tests.api.live import live_server, multipart

LIMIT = 4 * 1024 * 1024  # a small upload limit keeps the bodies small


@pytest.fixture
def small_limit_app(settings):
    application = create_app(settings.model_copy(update={"max_upload_bytes": LIMIT}))
    yield application
    application.state.engine.dispose()


def _send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_urllib_clients_get_the_early_401_400_and_413(small_limit_app, mp4_bytes):
    content_type, near_limit = multipart(
        {"title": "drill"}, "video_file", "clip.mp4", mp4_bytes + b"\x00" * (LIMIT - 200_000)
    )
    _, too_large = multipart(
        {"title": "drill"}, "video_file", "clip.mp4", mp4_bytes + b"\x00" * (LIMIT + 500_000)
    )
    with live_server(small_limit_app) as base:
        upload = f"{base}/api/videos/upload"
        status, body = _send(upload, near_limit, {"Content-Type": content_type})
        assert status == 401 and "Bearer" in body["detail"]

        signup = {
            "first_name": "Ana",
            "last_name": "Perez",
            "email": "early@example.com",
            "password1": "s3cret-pass",
            "password2": "s3cret-pass",
            "city": "Bogota",
            "country": "CO",
        }
        json_headers = {"Content-Type": "application/json"}
        assert _send(f"{base}/api/auth/signup", json.dumps(signup).encode(), json_headers)[0] == 201
        login = {"email": "early@example.com", "password": "s3cret-pass"}
        _, token = _send(f"{base}/api/auth/login", json.dumps(login).encode(), json_headers)
        auth = {"Authorization": f"Bearer {token['access_token']}"}

        status, body = _send(upload, near_limit, {**auth, "Content-Type": "text/plain"})
        assert status == 400 and "multipart/form-data" in body["detail"]

        status, body = _send(upload, too_large, {**auth, "Content-Type": content_type})
        assert status == 400 and "too large" in body["detail"]

        padded = json.dumps({**login, "pad": "x" * (LIMIT - 100_000)}).encode()
        status, body = _send(f"{base}/api/auth/login", padded, json_headers)
        assert status == 413 and "too large" in body["detail"]
