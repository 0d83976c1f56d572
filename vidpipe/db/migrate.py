"""Run the Alembic migrations programmatically (used by `vidpipe api`, `vidpipe up` and tests).

The configuration is built here rather than read from alembic.ini so that an installed package
(the container image) migrates the same way as a checkout; alembic.ini serves the alembic CLI.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from vidpipe.db.session import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def upgrade_to_head(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
