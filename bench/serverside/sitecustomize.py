"""Loaded at start-up by the API servers that bench/api_compare.py starts (this directory is on
their PYTHONPATH, never on anyone else's).

- BENCH_CEILING=1: adds `GET /bench/ceiling` -> `{"ok": true}` to every app `api.main.create_app`
  builds, so the ceiling (a trivial JSON endpoint) is measured on the same server, with the same
  uvicorn options, middleware and process layout as the real endpoints. Spawned uvicorn workers
  run this file too, so multi-worker servers get the route as well.
- BENCH_NO_UVICORN_EXTRAS=1: makes `uvloop` and `httptools` unimportable, so uvicorn's "auto"
  loop and HTTP parser fall back to asyncio + h11: the server as deployed before `uvicorn[standard]`
  was a dependency (the image installed plain `uvicorn`).
- BENCH_SKIP_MIGRATE=1: `vidpipe api` does not migrate at start-up. The bench migrates the shared
  database to this checkout's head; older code (the "before" server) would refuse a revision it
  does not know, and every later revision only adds columns and tables that it never reads.
"""

import os
import sys

if os.environ.get("BENCH_NO_UVICORN_EXTRAS") == "1":
    sys.modules["uvloop"] = None  # type: ignore[assignment]  # import raises ImportError
    sys.modules["httptools"] = None  # type: ignore[assignment]

if os.environ.get("BENCH_SKIP_MIGRATE") == "1":
    import vidpipe.db.migrate

    vidpipe.db.migrate.upgrade_to_head = lambda database_url: None

if os.environ.get("BENCH_CEILING") == "1":
    import api.main

    _create_app = api.main.create_app

    def create_app(*args, **kwargs):
        app = _create_app(*args, **kwargs)

        @app.get("/bench/ceiling", include_in_schema=False)
        async def ceiling() -> dict:
            return {"ok": True}

        return app

    api.main.create_app = create_app
