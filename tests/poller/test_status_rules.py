"""The poller's database rules, on a database alone (no local cloud): status updates are
idempotent and attempt-aware."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import sessionmaker

from poller.status import apply
from tests.factories import add_player
from vidpipe import videos
from vidpipe.contracts import VideoStatusMessage
from vidpipe.db.migrate import upgrade_to_head
from vidpipe.db.models import Video, VideoStatus
from vidpipe.db.session import make_engine
from vidpipe.settings import Settings


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'vidpipe.db'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def video_id(sessions) -> uuid.UUID:
    vid = uuid.uuid4()
    with sessions() as s:
        owner = add_player(s)
        videos.create_video(s, video_id=vid, owner=owner, title="t", key="k", size=1)
    return vid


def test_status_updates_are_idempotent_and_attempt_aware(sessions, video_id):
    def msg(status, attempt=1, **kw):
        return VideoStatusMessage(
            version=1, status=status, video_id=video_id, attempt=attempt, task_token="t", **kw
        )

    cfg = Settings()  # the Fargate prices: the final statuses record the run's cost
    with sessions() as s:
        assert apply(s, msg("processing"), cfg) and apply(s, msg("processing"), cfg)
        assert apply(s, msg("failed", error={"Error": "States.Timeout"}), cfg)
        # A redelivered "processing" must not bring a failed video back.
        assert not apply(s, msg("processing"), cfg)
        # Not the current attempt:
        assert not apply(s, msg("processed", attempt=2, result={"output_key": "k"}), cfg)
    with sessions() as s:
        assert s.get(Video, video_id).status is VideoStatus.failed
