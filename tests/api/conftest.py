"""API tests run against SQLite and a real PostgreSQL, with moto in-process for S3 and SQS.

PostgreSQL: set VIDPIPE_TEST_POSTGRES_URL to a server URL whose role may create databases
(`.ci/run` does). The test run creates its own database and drops it at the end. Without the
variable the PostgreSQL cases are skipped locally and fail under CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.main import close_pools, create_app
from vidpipe import aws, videos
from vidpipe.db.migrate import upgrade_to_head
from vidpipe.db.models import Base, PublicRevision, User
from vidpipe.settings import Settings
from vidpipe.users import city_key

BACKENDS = ["sqlite", "postgresql"]


def _postgres_admin_url() -> str | None:
    return os.environ.get("VIDPIPE_TEST_POSTGRES_URL")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'vidpipe.db'}"
        upgrade_to_head(url)
        yield url
        return
    admin_url = _postgres_admin_url()
    if admin_url is None:
        if os.environ.get("CI"):
            pytest.fail("VIDPIPE_TEST_POSTGRES_URL is not set: CI must test PostgreSQL")
        pytest.skip("VIDPIPE_TEST_POSTGRES_URL not set")
    name = f"vidpipe_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade_to_head(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_tables(url: str) -> None:
    # The public revision's single row belongs to the schema (migration 0004), like a sequence.
    tables = [t for t in Base.metadata.sorted_tables if t.name != PublicRevision.__tablename__]
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(table.name for table in tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def aws_env(monkeypatch) -> Iterator[dict[str, str]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        aws.reset_clients()
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="test-media")
        sqs = aws.client("sqs")
        jobs = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        yield {"bucket": "test-media", "jobs_queue_url": jobs}
        aws.reset_clients()


@pytest.fixture
def settings(database_url, aws_env) -> Settings:
    _empty_tables(database_url)
    return Settings(
        database_url=database_url,
        bucket=aws_env["bucket"],
        jobs_queue_url=aws_env["jobs_queue_url"],
        jwt_secret="test-secret-that-is-long-enough-123",
    )


@pytest.fixture
def app(settings):
    application = create_app(settings)
    yield application
    # Also when no lifespan ran (live servers run without one): no connection outlives the test.
    # A loop of its own: asyncio.run would unset the main thread's loop, which pulumi's mocks
    # (tests/pulumi, maybe in the same process) still ask for.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        runner.run(close_pools(application))


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app) -> Iterator[Session]:
    session = app.state.sessionmaker()
    yield session
    session.close()


@pytest.fixture(scope="session")
def mp4_bytes(tmp_path_factory) -> bytes:
    """A real (tiny) MP4 made by ffmpeg."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-t",
            "1",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(path),
        ],
        check=True,
    )
    return path.read_bytes()


@dataclass
class Player:
    id: str
    email: str
    token: str
    first_name: str
    last_name: str
    city: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_player(client):
    counter = iter(range(10_000))

    def make(first="Ana", last="Perez", city="Bogota", password="s3cret-pass") -> Player:
        email = f"player{next(counter)}-{uuid.uuid4().hex[:6]}@example.com"
        body = {
            "first_name": first,
            "last_name": last,
            "email": email,
            "password1": password,
            "password2": password,
            "city": city,
            "country": "CO",
        }
        created = client.post("/api/auth/signup", json=body)
        assert created.status_code == 201, created.text
        login = client.post("/api/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        return Player(created.json()["id"], email, login.json()["access_token"], first, last, city)

    return make


@pytest.fixture
def upload(client, mp4_bytes):
    def do(player: Player, title="Crossover drill", data: bytes | None = None, name="clip.mp4"):
        return client.post(
            "/api/videos/upload",
            headers=player.headers,
            files={"video_file": (name, mp4_bytes if data is None else data, "video/mp4")},
            data={"title": title},
        )

    return do


@pytest.fixture
def process(db, settings):
    """Play the pipeline's part: store an output and mark the video processed."""

    def do(video_id: str) -> None:
        vid = uuid.UUID(video_id)
        key = f"processed/{vid}/clip.mp4"
        aws.client("s3").put_object(Bucket=settings.bucket, Key=key, Body=b"processed")
        result = {
            "output_key": key,
            "poster_key": f"processed/{vid}/poster.jpg",
            "duration_seconds": 35.0,
            "ffmpeg_wall_seconds": 12.0,
        }
        assert videos.mark_processed(db, vid, 1, result, settings)
        db.commit()

    return do


@pytest.fixture
def seed_public_video(db, settings):
    """A player with one processed video, written through the ORM: no signup, no argon2, no
    upload (for tests that need many players and only read the public lists)."""

    def do(first: str, last: str = "Player", city: str = "Bogota") -> uuid.UUID:
        owner = User(
            first_name=first,
            last_name=last,
            email=f"{uuid.uuid4().hex}@example.com",
            password_hash="not-a-login",
            city=city,
            city_key=city_key(city),
            country="CO",
        )
        db.add(owner)
        db.commit()
        vid = uuid.uuid4()
        videos.create_video(
            db,
            video_id=vid,
            owner=owner,
            title=f"{first}'s drill",
            key=f"uploads/{vid}.mp4",
            size=1,
        )
        result = {"output_key": f"processed/{vid}/clip.mp4", "poster_key": None}
        assert videos.mark_processed(db, vid, 1, result, settings)
        db.commit()
        return vid

    return do


def jobs_messages(settings) -> list[dict]:
    sqs = aws.client("sqs")
    found = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=settings.jobs_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return found
        found.extend(json.loads(m["Body"]) for m in batch)
