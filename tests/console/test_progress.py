"""video.progress messages applied by the poller: the current attempt only, while processing
only, never backwards; shown as `progress` by GET /api/videos/{id}. The final statuses record
the run with its cost."""

from __future__ import annotations

import json
import uuid

import pytest

from poller.status import StatusOutcome, handle_status_message
from vidpipe import runs, videos
from vidpipe.db.models import Video, VideoStatus


def _progress(video_id: str, attempt: int, percent: int) -> str:
    return json.dumps(
        {
            "version": 1,
            "type": "video.progress",
            "video_id": video_id,
            "attempt": attempt,
            "progress": percent,
            "sent_at": "2026-11-28T12:00:00Z",
        }
    )


def _status(video_id: str, attempt: int, status: str, **extra) -> str:
    body = {"version": 1, "type": "video.status", "status": status, "video_id": video_id}
    return json.dumps({**body, "attempt": attempt, "task_token": "token", **extra})


ANSWERED = (StatusOutcome.ANSWERED, StatusOutcome.GONE)


@pytest.fixture
def apply(app, settings):
    def do(body: str) -> StatusOutcome:
        return handle_status_message(body, app.state.sessionmaker, settings).outcome

    return do


@pytest.fixture
def processing(make_player, upload, apply):
    """A player and their video, its attempt 1 marked processing by the poller."""
    player = make_player()
    video_id = upload(player).json()["video_id"]
    # No state waits for the fake token; applied all the same (moto even accepts the answer).
    assert apply(_status(video_id, 1, "processing")) in ANSWERED
    return player, video_id


def _shown(client, player, video_id):
    answer = client.get(f"/api/videos/{video_id}", headers=player.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["progress"]


def test_progress_reaches_the_video_and_never_goes_back(client, processing, apply):
    player, video_id = processing
    assert _shown(client, player, video_id) is None
    assert apply(_progress(video_id, 1, 40)) is StatusOutcome.PROGRESS
    assert _shown(client, player, video_id) == 40
    apply(_progress(video_id, 1, 25))  # late, out of order
    assert _shown(client, player, video_id) == 40
    apply(_progress(video_id, 1, 70))
    assert _shown(client, player, video_id) == 70


def test_progress_of_another_attempt_or_outside_processing_is_ignored(
    client, processing, apply, db, settings
):
    player, video_id = processing
    apply(_progress(video_id, 2, 50))  # not the current attempt
    assert _shown(client, player, video_id) is None

    apply(_status(video_id, 1, "failed", error={"Error": "Transcode.Failed"}))
    apply(_progress(video_id, 1, 60))  # the attempt already ended
    assert _shown(client, player, video_id) is None

    video = db.get(Video, uuid.UUID(video_id))
    videos.start_new_attempt(db, video, settings)
    apply(_progress(video_id, 1, 80))  # the old attempt, late
    apply(_progress(video_id, 2, 10))  # the new attempt, still `uploaded`
    assert _shown(client, player, video_id) is None
    apply(_status(video_id, 2, "processing"))
    apply(_progress(video_id, 2, 10))
    assert _shown(client, player, video_id) == 10


def test_processed_is_100_and_a_new_attempt_starts_from_null(client, processing, apply, db):
    player, video_id = processing
    apply(_progress(video_id, 1, 90))
    result = {"output_key": f"processed/{video_id}/clip.mp4", "wall_seconds": 30.0}
    assert apply(_status(video_id, 1, "processed", result=result)) in ANSWERED
    assert _shown(client, player, video_id) == 100


def test_a_restarted_attempt_forgets_the_previous_progress(client, processing, apply, db, settings):
    player, video_id = processing
    apply(_progress(video_id, 1, 55))
    apply(_status(video_id, 1, "failed", error={"Error": "States.Timeout"}))
    videos.start_new_attempt(db, db.get(Video, uuid.UUID(video_id)), settings)
    assert _shown(client, player, video_id) is None


@pytest.mark.parametrize(
    "body",
    [
        # Fixed video ids (the test ids must match across pytest-xdist workers).
        _progress("3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", 1, 101),
        _progress("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", 0, 5),
        json.dumps({"version": 2, "type": "video.progress"}),
        "not json",
    ],
)
def test_unusable_progress_messages_are_dropped(apply, body):
    assert apply(body) is StatusOutcome.INVALID


def test_progress_of_a_deleted_video_is_dropped(apply):
    assert apply(_progress(str(uuid.uuid4()), 1, 30)) is StatusOutcome.PROGRESS


def test_final_statuses_record_the_run_and_its_cost(processing, apply, db, settings):
    _, video_id = processing
    settings.fargate_vcpu_hour_usd, settings.fargate_gb_hour_usd = 0.036, 0.0036
    result = {
        "output_key": f"processed/{video_id}/clip.mp4",
        "wall_seconds": 3600.0,
        "cpu_seconds": 5000.0,
        "peak_memory_mb": 700.0,
        "input_bytes": 1000,
        "output_bytes": 900,
        "task_vcpu": 2.0,
        "task_memory_gb": 4.0,
    }
    apply(_status(video_id, 1, "processed", result=result))
    apply(_status(video_id, 1, "processed", result=result))  # redelivered
    (run,) = runs.for_video(db, uuid.UUID(video_id))
    assert run.status == VideoStatus.processed and run.attempt == 1
    assert run.cost_usd == pytest.approx(2 * 0.036 + 4 * 0.0036)
    assert run.cpu_seconds == 5000.0 and run.output_bytes == 900
    assert run.processing_seconds is not None and run.processing_seconds >= 0
