"""Run the Alembic migrations programmatically (used by `vidpipe api`, `vidpipe up` and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def upgrade_to_head(database_url: str | None = None) -> None:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    if database_url is not None:
        from vidpipe.db.session import make_engine

        engine = make_engine(database_url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        engine.dispose()
    else:
        command.upgrade(config, "head")
