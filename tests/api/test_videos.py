import threading
import uuid
from urllib.parse import parse_qs, urlparse

from sqlalchemy import event

from vidpipe import aws, videos
from vidpipe.db.models import Video


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


def test_own_video_read_is_one_statement_in_one_worker_thread(
    app, client, make_player, upload, process
):
    """The most frequent authenticated read (20% of the load mix) authenticates and reads in one
    worker thread with one autocommit statement (docs/benchmarks.md): under load each extra hop,
    checkout or round trip is another wait for the GIL."""
    ana = make_player()
    video_id = upload(ana).json()["video_id"]
    process(video_id)
    checkouts: list[str] = []
    statements: list[tuple[str, str | None]] = []

    @event.listens_for(app.state.engine, "checkout")
    def checkout(*_args):
        checkouts.append(threading.current_thread().name)

    @event.listens_for(app.state.engine, "before_cursor_execute")
    def execute(conn, _cursor, statement, *_args):
        statements.append((statement, conn.get_execution_options().get("isolation_level")))

    ben = make_player(first="Ben")
    for headers, status in ((ana.headers, 200), (ben.headers, 403)):
        checkouts.clear()
        statements.clear()
        answer = client.get(f"/api/videos/{video_id}", headers=headers)
        assert answer.status_code == status, answer.text
        assert len(checkouts) == 1, checkouts
        assert checkouts[0] != threading.current_thread().name
        assert len(statements) == 1, statements
        assert statements[0][1] == "AUTOCOMMIT"
