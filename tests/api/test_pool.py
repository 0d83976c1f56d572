"""Slow uploads must not starve the database pool (issue 9, point 1).

More uploads than the pool has connections stall mid-body against a real uvicorn server, while
health, login and rankings must answer normally.
"""

from __future__ import annotations

import json
import socket
import threading

import httpx

from tests.api.live import live_server, multipart, read_response, request_head, wait_for


class BodyWatch:
    """Counts upload requests whose body the app has started to read (authentication is done)."""

    def __init__(self, app):
        self.app = app
        self.reading = 0
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/api/videos/upload":
            return await self.app(scope, receive, send)
        counted = False

        async def watched():
            nonlocal counted
            if not counted:
                counted = True
                with self._lock:
                    self.reading += 1
            return await receive()

        return await self.app(scope, watched, send)


def test_slow_uploads_beyond_the_pool_size_do_not_block_other_requests(app, make_player, mp4_bytes):
    pool = app.state.engine.pool
    capacity = pool.size() + pool._max_overflow  # every connection the pool can ever hand out
    stalled = capacity + 2
    player = make_player(password="s3cret-pass")
    ranked = make_player(first="Ranked")  # noqa: F841 - something for rankings to read
    content_type, body = multipart({"title": "slow one"}, "video_file", "clip.mp4", mp4_bytes)
    head = request_head(
        "POST",
        "/api/videos/upload",
        {**player.headers, "Content-Type": content_type},
        len(body),
    )
    first, rest = body[: len(body) // 2], body[len(body) // 2 :]
    watch = BodyWatch(app)
    release = threading.Event()
    results: list[object] = []
    lock = threading.Lock()

    def slow_upload(port: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
                sock.sendall(head + first)
                release.wait(timeout=120)
                sock.sendall(rest)
                status, _, answer = read_response(sock)
                outcome: object = (status, json.loads(answer))
        except Exception as exc:  # recorded and asserted on below
            outcome = exc
        with lock:
            results.append(outcome)

    with live_server(watch) as base:
        port = int(base.rsplit(":", 1)[1])
        threads = [threading.Thread(target=slow_upload, args=(port,)) for _ in range(stalled)]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: watch.reading == stalled, f"{stalled} uploads reading their bodies")
            with httpx.Client(base_url=base, timeout=120) as http:
                health = http.get("/api/health")
                login = http.post(
                    "/api/auth/login", json={"email": player.email, "password": "s3cret-pass"}
                )
                rankings = http.get("/api/public/rankings")
            assert health.status_code == 200, health.text
            assert login.status_code == 200, login.text
            assert rankings.status_code == 200, rankings.text
            assert watch.reading == stalled and not results  # the uploads were still stalled
        finally:
            release.set()
            for thread in threads:
                thread.join(timeout=120)
    assert len(results) == stalled
    statuses = [r[0] if isinstance(r, tuple) else r for r in results]
    assert statuses == [201] * stalled
