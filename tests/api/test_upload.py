import uuid

from botocore.exceptions import EndpointConnectionError
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from api.main import create_app
from tests.api.conftest import jobs_messages
from vidpipe import aws, videos
from vidpipe.db.models import Video
from vidpipe.settings import Settings


def test_upload_stores_file_writes_row_and_queues_one_message(
    client, db, settings, make_player, upload, mp4_bytes
):
    player = make_player()
    response = upload(player, title="  Crossover drill  ")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"message", "task_id", "video_id"}
    video_id = body["video_id"]
    assert body["task_id"] == f"{video_id}-1"

    stored = aws.client("s3").get_object(Bucket=settings.bucket, Key=f"uploads/{video_id}.mp4")
    assert stored["Body"].read() == mp4_bytes

    video = db.get(Video, uuid.UUID(video_id))
    assert video.title == "Crossover drill"
    assert video.status == "uploaded"
    assert video.size_bytes == len(mp4_bytes)
    assert video.enqueued_at is not None

    (message,) = jobs_messages(settings)
    assert message["version"] == 1
    assert message["type"] == "video.process"
    assert message["video_id"] == video_id
    assert message["attempt"] == 1
    assert message["input_key"] == f"uploads/{video_id}.mp4"
    assert message["output_prefix"] == f"processed/{video_id}/"
    assert message["bucket"] == settings.bucket


def _assert_rejected(response, reason, settings):
    assert response.status_code == 400, response.text
    assert reason in response.json()["detail"]
    listed = aws.client("s3").list_objects_v2(Bucket=settings.bucket).get("KeyCount", 0)
    assert listed == 0, "a rejected upload must not be stored"
    assert jobs_messages(settings) == []


def test_not_an_mp4_by_content_is_400(make_player, upload, settings):
    player = make_player()
    _assert_rejected(
        upload(player, data=b"just some text\n" * 100, name="fake.mp4"), "not an MP4", settings
    )
    quicktime = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00" * 100
    _assert_rejected(upload(player, data=quicktime), "not an MP4", settings)


def test_empty_file_and_bad_titles_are_400(make_player, upload, settings):
    player = make_player()
    _assert_rejected(upload(player, data=b""), "empty", settings)
    _assert_rejected(upload(player, title="   "), "title is required", settings)
    _assert_rejected(upload(player, title="x" * 201), "at most 200", settings)


def test_missing_fields_and_wrong_content_type_are_400(client, make_player, mp4_bytes, settings):
    player = make_player()
    no_title = client.post(
        "/api/videos/upload", headers=player.headers, files={"video_file": ("a.mp4", mp4_bytes)}
    )
    _assert_rejected(no_title, "title is required", settings)
    no_file = client.post("/api/videos/upload", headers=player.headers, data={"title": "x"})
    _assert_rejected(no_file, "video_file is required", settings)
    as_json = client.post("/api/videos/upload", headers=player.headers, json={"title": "x"})
    _assert_rejected(as_json, "multipart/form-data", settings)


def test_the_upload_limit_is_the_contracts_100_mb(settings):
    assert Settings.model_fields["max_upload_bytes"].default == 100 * 1024 * 1024
    assert settings.max_upload_bytes == 100 * 1024 * 1024


def test_upload_over_the_limit_is_rejected_without_being_stored(make_player, mp4_bytes, settings):
    # The rule itself at a 1 MiB limit: the same code path as the contract's 100 MB, 100x less
    # data to send.
    small = settings.model_copy(update={"max_upload_bytes": 1024 * 1024})
    app = create_app(small)
    player = make_player()
    too_big = mp4_bytes + b"\x00" * (small.max_upload_bytes + 1 - len(mp4_bytes))
    with TestClient(app) as client:
        response = client.post(
            "/api/videos/upload",
            headers=player.headers,
            files={"video_file": ("clip.mp4", too_big, "video/mp4")},
            data={"title": "Crossover drill"},
        )
    app.state.engine.dispose()
    _assert_rejected(response, "too large", settings)


def test_declared_oversize_body_is_refused_before_reading(client, make_player, settings):
    player = make_player()
    response = client.post(
        "/api/videos/upload",
        headers={
            **player.headers,
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(200 * 1024 * 1024),
        },
        content=b"--x--\r\n",
    )
    _assert_rejected(response, "too large", settings)


def test_upload_requires_a_token(client, mp4_bytes):
    response = client.post(
        "/api/videos/upload", files={"video_file": ("a.mp4", mp4_bytes)}, data={"title": "x"}
    )
    assert response.status_code == 401


def test_queue_outage_keeps_the_upload_and_the_sweeper_resends(
    client, db, settings, make_player, upload, monkeypatch
):
    player = make_player()
    sqs = aws.client("sqs")

    def refuse(**_):
        raise EndpointConnectionError(endpoint_url="http://sqs")

    monkeypatch.setattr(sqs, "send_message", refuse)
    response = upload(player)
    assert response.status_code == 201
    video_id = uuid.UUID(response.json()["video_id"])
    video = db.get(Video, video_id)
    assert video.status == "uploaded" and video.enqueued_at is None

    monkeypatch.undo()
    assert videos.resend_unqueued(db, settings, older_than=0) == 1
    db.expire_all()
    assert db.get(Video, video_id).enqueued_at is not None
    assert [m["video_id"] for m in jobs_messages(settings)] == [str(video_id)]
    # Nothing is sent twice once SQS accepted it.
    assert videos.resend_unqueued(db, settings, older_than=0) == 0


def test_failed_row_write_removes_the_stored_object(
    client, make_player, upload, settings, monkeypatch
):
    player = make_player()

    def broken(*_, **__):
        raise OperationalError("INSERT", {}, Exception("database went away"))

    monkeypatch.setattr(videos, "create_video", broken)
    response = upload(player)
    assert response.status_code == 503
    assert "database unavailable" in response.json()["detail"]
    assert aws.client("s3").list_objects_v2(Bucket=settings.bucket).get("KeyCount", 0) == 0
    assert jobs_messages(settings) == []
