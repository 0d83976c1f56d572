import asyncio
import socket
import uuid
from urllib.parse import parse_qs, urlparse

import anyio.to_thread
import pytest
from sqlalchemy import event

from vidpipe import aws, storage, videos
from vidpipe.db.models import Video
from vidpipe.db.session import async_read_session_factory, make_async_read_engine


def test_list_shows_only_own_videos_with_processed_fields_once_processed(
    client, make_player, upload, process
):
    ana, ben = make_player(), make_player(first="Ben")
    first = upload(ana, title="first").json()["video_id"]
    second = upload(ana, title="second").json()["video_id"]
    upload(ben, title="not yours")
    process(first)

    listed = client.get("/api/videos", headers=ana.headers)
    assert listed.status_code == 200
    rows = {row["video_id"]: row for row in listed.json()}
    assert set(rows) == {first, second}
    assert set(rows[second]) == {"video_id", "title", "status", "uploaded_at"}
    assert rows[second]["status"] == "uploaded"
    assert set(rows[first]) == {
        "video_id",
        "title",
        "status",
        "uploaded_at",
        "processed_at",
        "processed_url",
    }
    assert rows[first]["status"] == "processed"
    assert f"processed/{first}/clip.mp4" in rows[first]["processed_url"]


def test_detail_fields_and_presigned_links(client, make_player, upload, process, settings):
    ana = make_player()
    video_id = upload(ana).json()["video_id"]
    detail = client.get(f"/api/videos/{video_id}", headers=ana.headers)
    assert detail.status_code == 200
    body = detail.json()
    assert set(body) == {
        "video_id",
        "title",
        "status",
        "uploaded_at",
        "processed_at",
        "original_url",
        "processed_url",
        "votes",
        "task_id",
        "poster_url",  # additive, like processed_url: null until processed
        "progress",  # additive: the transcode progress, null until the job reports some
    }
    assert body["processed_url"] is None and body["processed_at"] is None
    assert body["poster_url"] is None and body["progress"] is None
    assert body["votes"] == 0 and body["task_id"] == f"{video_id}-1"
    query = parse_qs(urlparse(body["original_url"]).query)
    assert query["X-Amz-Expires"] == [str(settings.presign_expiry_seconds)]
    assert "X-Amz-Signature" in query

    process(video_id)
    body = client.get(f"/api/videos/{video_id}", headers=ana.headers).json()
    assert body["status"] == "processed" and body["processed_at"]
    assert f"processed/{video_id}/poster.jpg" in body["poster_url"]
    assert f"processed/{video_id}/clip.mp4" in body["processed_url"]
    assert body["uploaded_at"].endswith(("+00:00", "Z"))


def test_failed_video_shows_its_error(client, db, make_player, upload, settings):
    ana = make_player()
    video_id = upload(ana).json()["video_id"]
    assert videos.mark_failed(
        db, uuid.UUID(video_id), 1, "duration 12 s is below the 20 s minimum", settings
    )
    db.commit()
    body = client.get(f"/api/videos/{video_id}", headers=ana.headers).json()
    assert body["status"] == "failed"
    assert body["error"] == "duration 12 s is below the 20 s minimum"


def test_detail_is_403_for_another_player_and_404_for_unknown_or_malformed_ids(
    client, make_player, upload
):
    ana, ben = make_player(), make_player(first="Ben")
    video_id = upload(ana).json()["video_id"]
    assert client.get(f"/api/videos/{video_id}", headers=ben.headers).status_code == 403
    assert client.get(f"/api/videos/{uuid.uuid4()}", headers=ana.headers).status_code == 404
    response = client.get("/api/videos/not-a-uuid", headers=ana.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "video not found"}
    assert client.get(f"/api/videos/{video_id}").status_code == 401


def _keys(settings):
    return {
        o["Key"]
        for o in aws.client("s3").list_objects_v2(Bucket=settings.bucket).get("Contents", [])
    }


def test_delete_removes_original_and_processed_files_and_the_row(
    client, db, make_player, upload, settings
):
    ana = make_player()
    video_id = upload(ana).json()["video_id"]
    s3 = aws.client("s3")
    s3.put_object(Bucket=settings.bucket, Key=f"processed/{video_id}/poster.jpg", Body=b"partial")
    assert len(_keys(settings)) == 2

    response = client.delete(f"/api/videos/{video_id}", headers=ana.headers)
    assert response.status_code == 200
    assert response.json() == {"message": "video deleted", "video_id": video_id}
    assert _keys(settings) == set()
    db.expire_all()
    assert db.get(Video, uuid.UUID(video_id)) is None
    assert client.get(f"/api/videos/{video_id}", headers=ana.headers).status_code == 404
    assert client.delete(f"/api/videos/{video_id}", headers=ana.headers).status_code == 404


def test_delete_rules(client, db, make_player, upload, process, settings):
    ana, ben = make_player(), make_player(first="Ben")
    public = upload(ana).json()["video_id"]
    process(public)
    response = client.delete(f"/api/videos/{public}", headers=ana.headers)
    assert response.status_code == 400
    assert "cannot be deleted" in response.json()["detail"]

    failed = upload(ana).json()["video_id"]
    videos.mark_failed(db, uuid.UUID(failed), 1, "no video stream", settings)
    db.commit()
    assert client.delete(f"/api/videos/{failed}", headers=ben.headers).status_code == 403
    assert client.delete(f"/api/videos/{failed}", headers=ana.headers).status_code == 200
    assert client.delete("/api/videos/123", headers=ana.headers).status_code == 404
    assert client.delete(f"/api/videos/{public}").status_code == 401


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a worker thread has no running loop
        return False
    return True


def _autocommit(conn) -> bool:
    """Whether the driver connection is in autocommit mode (no BEGIN is sent before a statement)."""
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        return driver.autocommit
    return driver.isolation_level is None  # sqlite3's (and aiosqlite's) spelling of autocommit


def test_own_video_read_runs_on_the_event_loop_with_one_autocommit_statement(
    app, client, make_player, upload, process, monkeypatch
):
    """The most frequent authenticated read (20% of the load mix) needs no worker thread once its
    links are signed: under load the requests that wait for a worker thread carry the queueing
    (docs/benchmarks.md). One autocommit statement on the async engine, none on the thread-pool
    engine; a link still to sign makes exactly one thread-pool hop."""
    ana = make_player()
    video_id = upload(ana).json()["video_id"]
    process(video_id)
    ben = make_player(first="Ben")
    hops: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):
        hops.append(func)
        return await run_sync(func, *args, **kwargs)

    # Starlette's and FastAPI's run_in_threadpool (and sync dependencies) all go through it.
    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    checkouts: list[bool] = []
    statements: list[tuple[str, bool, bool]] = []
    thread_pool_statements: list[str] = []
    read_engine = app.state.read_async_engine.sync_engine  # where an async engine's events fire

    @event.listens_for(read_engine, "checkout")
    def checkout(*_args):
        checkouts.append(_on_event_loop())

    @event.listens_for(read_engine, "before_cursor_execute")
    def execute(conn, _cursor, statement, *_args):
        statements.append((statement, _autocommit(conn), _on_event_loop()))

    @event.listens_for(app.state.engine, "before_cursor_execute")
    def execute_sync(_conn, _cursor, statement, *_args):
        thread_pool_statements.append(statement)

    # First read: the three links are signed, in one hop. Then from the cache: no hop at all.
    for headers, status, expected_hops in (
        (ana.headers, 200, 1),
        (ana.headers, 200, 0),
        (ben.headers, 403, 0),
        (ana.headers, 404, 0),
    ):
        hops.clear()
        checkouts.clear()
        statements.clear()
        path = f"/api/videos/{video_id if status != 404 else uuid.uuid4()}"
        answer = client.get(path, headers=headers)
        assert answer.status_code == status, answer.text
        assert len(hops) == expected_hops, (status, hops)
        assert checkouts == [True]
        assert len(statements) == 1, statements
        assert statements[0][1:] == (True, True), statements  # autocommit, on the event loop
        assert thread_pool_statements == []
    body = client.get(f"/api/videos/{video_id}", headers=ana.headers).json()
    assert f"processed/{video_id}/poster.jpg" in body["poster_url"]


def test_cached_presigned_get_never_signs_nor_makes_a_client(settings):
    key = f"uploads/{uuid.uuid4()}.mp4"
    aws.reset_clients()
    assert storage.cached_presigned_get(key, settings) is None
    assert aws.existing_client("s3") is None  # making one could fetch credentials
    assert storage.cached_presigned_get(key, settings) is None  # a miss: nothing signed
    url = storage.presigned_get(key, settings)
    assert url and storage.cached_presigned_get(key, settings) == url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_own_video_read_answers_503_when_the_database_is_down(
    app, client, make_player, upload, database_url, tmp_path
):
    """The async driver's connection errors are SQLAlchemy's OperationalError too (api/errors.py
    turns them into 503), on both databases."""
    ana = make_player()
    video_id = upload(ana).json()["video_id"]
    if database_url.startswith("sqlite"):
        down = f"sqlite:///{tmp_path / 'missing-dir' / 'vidpipe.db'}"
    else:
        down = f"postgresql+psycopg://vidpipe:vidpipe@127.0.0.1:{_closed_port()}/vidpipe"
    live = app.state.read_async_engine, app.state.read_async_sessionmaker
    app.state.read_async_engine = make_async_read_engine(down)
    app.state.read_async_sessionmaker = async_read_session_factory(app.state.read_async_engine)
    try:
        answer = client.get(f"/api/videos/{video_id}", headers=ana.headers)
    finally:  # the dead engine never made a connection: nothing to close
        app.state.read_async_engine, app.state.read_async_sessionmaker = live
    assert answer.status_code == 503
    assert answer.json() == {"detail": "database unavailable, try again later"}


def test_the_own_video_read_gives_its_connection_back_without_a_turn_of_the_event_loop(
    app, client, make_player, upload, database_url
):
    """SQLAlchemy's `async with` closes a session in a task of its own: the connection went back
    one turn of the event loop after the statement (at 64 connections the close took ~60 ms at
    the median, and reads waited for the pool: up to 206 ms at p95). With autocommit, closing
    sends nothing to PostgreSQL, so it is done inline. (aiosqlite closes through its own thread:
    SQLite takes a turn either way.)"""
    if database_url.startswith("sqlite"):
        pytest.skip("aiosqlite's rollback on close goes through its thread")
    ana = make_player()
    video_id = upload(ana).json()["video_id"]
    read_engine = app.state.read_async_engine.sync_engine
    turns = {"now": 0, "at_checkin": []}
    ticker: list[asyncio.Handle] = []

    def tick(loop: asyncio.AbstractEventLoop) -> None:
        turns["now"] += 1
        ticker[:] = [loop.call_soon(tick, loop)]

    @event.listens_for(read_engine, "after_cursor_execute")
    def statement_done(*_args):
        turns["now"] = 0
        loop = asyncio.get_running_loop()
        ticker[:] = [loop.call_soon(tick, loop)]

    @event.listens_for(read_engine, "checkin")
    def connection_back(*_args):
        turns["at_checkin"].append(turns["now"])
        ticker[0].cancel()

    answer = client.get(f"/api/videos/{video_id}", headers=ana.headers)
    assert answer.status_code == 200, answer.text
    assert turns["at_checkin"] == [0]
