"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI

from api import errors
from api.deps import SESSION_COOKIE
from api.middleware import BodyLimit, DrainBeforeEarlyAnswer, InternalErrors, SecurityHeaders
from api.routes import auth, console, health, history, pages, public, videos
from api.schemas import error_responses
from api.uploads import FORM_OVERHEAD_BYTES
from vidpipe import storage
from vidpipe.db.session import (
    async_read_session_factory,
    autocommit_session_factory,
    make_async_read_engine,
    make_engine,
    session_factory,
)
from vidpipe.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Every JSON body of the contract is well under 4 KiB.
JSON_BODY_LIMIT = 64 * 1024
UPLOAD_PATH = "/api/videos/upload"
# How long an early answer waits for the rest of a body (see DrainBeforeEarlyAnswer).
DRAIN_SECONDS = 30.0


def _media_origin(settings: Settings):
    def origin() -> str | None:
        if settings.media_origin:
            return settings.media_origin
        try:
            url = urlsplit(storage.presigned_get("csp-origin-probe", settings) or "")
        except Exception as exc:  # no credentials yet: serve without a media source
            log.warning("media origin for the CSP unknown: %s", exc)
            return None
        return f"{url.scheme}://{url.netloc}" if url.netloc else None

    return origin


def _without_422(app: FastAPI):
    """The OpenAPI document as FastAPI builds it, less the 422 answers it adds to every operation
    with parameters: validation errors are 400 here (api.errors), documented per route."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        return schema

    return openapi


async def close_pools(app: FastAPI) -> None:
    """Close the app's pooled database connections (each engine starts a new, empty pool)."""
    await app.state.read_async_engine.dispose()
    app.state.engine.dispose()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # On the loop the async connections were made on. Without it an app's connections stay open
    # until the process exits (a test run builds hundreds of apps).
    await close_pools(app)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.jwt_key()  # refuse to serve without a signing key (raises MissingJwtSecret)
    app = FastAPI(
        title="vidpipe",
        description="Basketball talent showcase: uploads, processing, public voting and rankings.",
        version="1.0.0",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    # Two pools: the thread-pool engine for the sync routes (VIDPIPE_DB_POOL_SIZE and _MAX_OVERFLOW),
    # and an async engine for the reads made on the event loop (GET /api/videos/{video_id};
    # VIDPIPE_DB_READ_POOL_SIZE).
    app.state.engine = make_engine(settings.sqlalchemy_url, pre_ping=False)
    app.state.sessionmaker = session_factory(app.state.engine)
    app.state.autocommit_sessionmaker = autocommit_session_factory(app.state.engine)
    app.state.read_async_engine = make_async_read_engine(settings.sqlalchemy_url)
    app.state.read_async_sessionmaker = async_read_session_factory(app.state.read_async_engine)
    errors.install(app)
    for module in (auth, history, videos, public, health, pages):
        app.include_router(module.router)
    # The console's routes share one set of error answers: 401 without a credential, 403 for
    # non-operators (and cookie changes without X-CSRF), 400/404 on bad filters or names, 503
    # when AWS does not answer.
    app.include_router(console.router, responses=error_responses(400, 401, 403, 404, 503))
    app.openapi = _without_422(app)  # type: ignore[method-assign]  # FastAPI's documented hook
    # add_middleware puts each new one outside the previous ones: innermost first.
    app.add_middleware(InternalErrors)
    app.add_middleware(BodyLimit, limit=JSON_BODY_LIMIT, own_limits=frozenset({UPLOAD_PATH}))
    # Twice the largest accepted upload, so a somewhat too large one still gets its 400.
    app.add_middleware(
        DrainBeforeEarlyAnswer,
        max_bytes=2 * (settings.max_upload_bytes + FORM_OVERHEAD_BYTES),
        seconds=DRAIN_SECONDS,
    )
    app.add_middleware(
        SecurityHeaders,
        media_origin=_media_origin(settings),
        trusted_proxy_count=settings.trusted_proxy_count,
        credential_cookie=SESSION_COOKIE,
    )
    return app
