"""Database connections at the maximum task counts fit the RDS instance's max_connections."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.pool import QueuePool
from vidpipe_infra.config import StackConfig

from api.main import create_app
from vidpipe.db.session import make_engine
from vidpipe.settings import Settings, get_settings

# Memory of the instance classes the two test stacks use, from the RDS instance class table.
CLASS_MEMORY_BYTES = {"db.t4g.micro": 1 * 1024**3, "db.m7g.large": 8 * 1024**3}


def rds_postgres_max_connections(instance_class: str) -> int:
    """RDS for PostgreSQL's default: LEAST({DBInstanceClassMemory/9531392}, 5000)."""
    return min(CLASS_MEMORY_BYTES[instance_class] // 9531392, 5000)


def test_pools_at_maximum_task_counts_fit_max_connections_with_headroom(configured):
    stack, cfg = configured
    (db,) = stack.of_type("aws:rds/instance:Instance")
    limit = rds_postgres_max_connections(db.inputs["instanceClass"])
    (target,) = stack.of_type("aws:appautoscaling/target:Target")
    api_max = target.inputs["maxCapacity"]
    pollers = stack.one("aws:ecs/service:Service", "vidpipe-poller").inputs["desiredCount"]
    per_task = {}
    for task in ("vidpipe-api", "vidpipe-poller"):
        env = {e["name"]: e["value"] for e in stack.container(task)["environment"]}
        per_task[task] = int(env["VIDPIPE_DB_POOL_SIZE"]) + int(env["VIDPIPE_DB_MAX_OVERFLOW"])
        if task == "vidpipe-api":  # its event-loop reads have a pool of their own
            per_task[task] += int(env["VIDPIPE_DB_READ_POOL_SIZE"])
        # One API process per task (uvicorn without --workers), one poller process.
        assert "--workers" not in stack.container(task)["command"]
    peak = api_max * per_task["vidpipe-api"] + pollers * per_task["vidpipe-poller"]
    # DBInstanceClassMemory is below the class memory (the OS keeps some; ~25 % on 1 GiB), and
    # the superuser reservation, migrations and an operator's psql need connections too.
    assert peak <= 0.6 * limit, (peak, limit, cfg["dbInstanceClass"])


def test_a_stack_whose_pools_would_not_fit_is_refused():
    with pytest.raises(ValueError, match="max_connections"):
        dataclasses.replace(StackConfig(allow_http=True), api_max_count=8, db_pool_size=10)
    # The API's read pool counts: the default pools with a larger one do not fit a micro.
    with pytest.raises(ValueError, match="max_connections"):
        dataclasses.replace(StackConfig(allow_http=True), db_read_pool_size=16)
    with pytest.raises(ValueError, match="dbReadPoolSize >= 1"):
        dataclasses.replace(StackConfig(allow_http=True), db_read_pool_size=0)
    # A larger instance takes the same pools.
    dataclasses.replace(
        StackConfig(allow_http=True),
        api_max_count=8,
        db_pool_size=10,
        db_instance_class="db.m7g.large",
    )


def test_the_engine_takes_its_pool_sizes_from_the_settings(monkeypatch):
    monkeypatch.setenv("VIDPIPE_DB_POOL_SIZE", "3")
    monkeypatch.setenv("VIDPIPE_DB_MAX_OVERFLOW", "7")
    get_settings.cache_clear()
    try:
        engine = make_engine("postgresql+psycopg://vidpipe@db.invalid:5432/vidpipe")
        assert isinstance(engine.pool, QueuePool)
        assert (engine.pool.size(), engine.pool._max_overflow) == (3, 7)
    finally:
        get_settings.cache_clear()


def test_the_api_has_a_read_pool_of_its_own(monkeypatch):
    """The API's thread-pool engine and its event-loop read engine hold
    VIDPIPE_DB_POOL_SIZE + VIDPIPE_DB_MAX_OVERFLOW and VIDPIPE_DB_READ_POOL_SIZE connections, what
    the capacity check above counts per API task."""
    monkeypatch.setenv("VIDPIPE_DB_POOL_SIZE", "4")
    monkeypatch.setenv("VIDPIPE_DB_MAX_OVERFLOW", "6")
    monkeypatch.setenv("VIDPIPE_DB_READ_POOL_SIZE", "9")
    get_settings.cache_clear()
    try:
        url = "postgresql+psycopg://vidpipe@db.invalid:5432/vidpipe"
        app = create_app(Settings(database_url=url, jwt_secret="x" * 40))
        threads, reads = app.state.engine.pool, app.state.read_async_engine.pool
        assert (threads.size(), threads._max_overflow) == (4, 6)
        assert (reads.size(), reads._max_overflow) == (9, 0)
    finally:
        get_settings.cache_clear()
