"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request).

From the outside in (see api.main.create_app):
- SecurityHeaders: nosniff, frame options, CSP, HSTS over TLS, referrer policy, no-store.
- DrainBeforeEarlyAnswer: an answer given before the body was read waits until the rest of the
  body (bounded) has arrived, so clients that send everything before reading get it.
- BodyLimit: every body bounded before it is parsed (413).
- InternalErrors: an unexpected exception is logged with its traceback and answered as JSON 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


def client_over_tls(scope: Scope, trusted_proxy_count: int) -> bool:
    """The client's own connection used TLS: ours did, or a trusted proxy (the ALB) says so."""
    if scope.get("scheme") == "https":
        return True
    if trusted_proxy_count < 1:
        return False
    forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
    # Each proxy appends; the entry our nearest trusted proxy wrote is the last one.
    protos = [proto.strip().lower() for proto in forwarded.split(",") if proto.strip()]
    return bool(protos) and protos[-1] == "https"


def content_security_policy(media_origin: str | None) -> str:
    media = f" {media_origin}" if media_origin else ""
    return (
        f"default-src 'self'; img-src 'self' data: blob:{media}; media-src 'self' blob:{media}; "
        "script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )


# FastAPI's interactive docs load Swagger UI / ReDoc from a CDN with an inline start-up script;
# these pages show no user data and the session cookie is scoped to /api, so they get a looser
# policy rather than losing /docs.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


class SecurityHeaders:
    def __init__(
        self,
        app: ASGIApp,
        *,
        media_origin: Callable[[], str | None],
        trusted_proxy_count: int,
        credential_cookie: str,
    ) -> None:
        self.app = app
        self.media_origin = media_origin
        self.trusted_proxy_count = trusted_proxy_count
        self.credential_cookie = credential_cookie
        self._csp: str | None = None

    def _policy(self, path: str) -> str:
        if path in DOCS_PATHS:
            return _DOCS_CSP
        if self._csp is None:
            self._csp = content_security_policy(self.media_origin())
        return self._csp

    def _authenticated(self, scope: Scope) -> bool:
        headers = Headers(scope=scope)
        cookies = headers.get("cookie", "")
        return "authorization" in headers or f"{self.credential_cookie}=" in cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        tls = client_over_tls(scope, self.trusted_proxy_count)
        private = self._authenticated(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Content-Security-Policy"] = self._policy(path)
                headers["Referrer-Policy"] = "no-referrer"
                if tls:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                # Answers to a signed-in caller (and tokens) must never sit in a shared cache;
                # anonymous answers keep a Cache-Control their route chose.
                if private or (path.startswith("/api/") and "cache-control" not in headers):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in headers.get("transfer-encoding", "").lower()


class DrainBeforeEarlyAnswer:
    """Read and discard the unread rest of a request body (what nginx calls lingering close).

    When the app answers without reading the whole body (401 before an upload, 413, a bad
    form), the server would close the connection with unread data, which resets it; a client that
    sends the whole body before reading (Python's urllib) then sees "connection reset" instead of
    the answer. So the answer is sent, and its end held back until the rest of the body has
    arrived: at most `max_bytes` (a declared larger body is not waited for) and `seconds`.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _has_body(headers):
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length")
        too_long = declared is not None and declared.isdigit() and int(declared) > self.max_bytes
        state = {"done": False, "received": 0}

        async def tracking_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                state["done"] = not message.get("more_body", False)
            else:
                state["done"] = True  # disconnected: nothing more will come
            return message

        async def drain() -> None:
            with anyio.move_on_after(self.seconds):
                while not state["done"] and state["received"] <= self.max_bytes:
                    await tracking_receive()

        async def holding_send(message: Message) -> None:
            final = message["type"] == "http.response.body" and not message.get("more_body")
            if final and not state["done"] and not too_long:
                await send({**message, "more_body": True})
                await drain()
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app(scope, tracking_receive, holding_send)


class BodyTooLarge(HTTPException):
    """Raised from `receive` (an HTTPException, so FastAPI's body parsing lets it through)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large: the limit is {limit // 1024} KiB")


class BodyLimit:
    """Bound every request body before anything parses it: `limit` bytes, except the paths in
    `own_limits`, which bound their bodies themselves (the upload form)."""

    def __init__(self, app: ASGIApp, *, limit: int, own_limits: frozenset[str]) -> None:
        self.app = app
        self.limit = limit
        self.own_limits = own_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.own_limits:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            error = BodyTooLarge(self.limit)
            response = JSONResponse({"detail": error.detail}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, bounded_receive, send)


INTERNAL_ERROR = {"detail": "internal server error; the error has been logged"}


class InternalErrors:
    """Any exception the app did not turn into an answer: log the traceback, answer JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # too late for an answer; the server closes the connection
            await JSONResponse(INTERNAL_ERROR, status_code=500)(scope, receive, send)
