"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.routes import auth, console, health, history, pages, public, videos
from vidpipe.db.session import make_engine, session_factory
from vidpipe.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.jwt_key()  # refuse to serve without a signing key (raises MissingJwtSecret)
    app = FastAPI(
        title="vidpipe",
        description="Basketball talent showcase: uploads, processing, public voting and rankings.",
        version="1.0.0",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.sqlalchemy_url)
    app.state.sessionmaker = session_factory(app.state.engine)
    errors.install(app)
    for module in (auth, history, videos, public, health, console, pages):
        app.include_router(module.router)
    return app
