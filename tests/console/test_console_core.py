"""vidpipe.console where the routes' tests do not reach: executions not named
`<video_id>-<attempt>`, runs still going, and the videos being processed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import update

from tests.console.conftest import run_execution
from vidpipe import console
from vidpipe.db.models import Video, VideoStatus


def test_summary_of_a_foreign_name_and_of_a_running_execution():
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    item = {"name": "nightly-import", "status": "RUNNING", "startDate": start}
    assert console.execution_summary(item) == {
        "name": "nightly-import",
        "video_id": None,
        "attempt": None,
        "status": "RUNNING",
        "start_date": start,
        "stop_date": None,
        "duration_seconds": None,
    }


def test_foreign_executions_are_listed_without_a_video(console_settings, db):
    run_execution(console_settings, "nightly-import", ok=True)
    items, token = console.list_executions(db, console_settings, None, 10, None)
    assert token is None
    assert [(i["name"], i["video_id"], i["title"], i["video_status"]) for i in items] == [
        ("nightly-import", None, None, None)
    ]


def test_running_jobs_oldest_first_with_progress(db, make_player, upload):
    player = make_player()
    ids = [uuid.UUID(upload(player, title=t).json()["video_id"]) for t in ("Later", "Earlier")]
    for video_id, hour, progress in ((ids[0], 5, None), (ids[1], 4, 40)):
        db.execute(
            update(Video)
            .where(Video.id == video_id)
            .values(
                status=VideoStatus.processing,
                progress=progress,
                processing_at=datetime(2026, 1, 2, hour, tzinfo=UTC),
            )
        )
    db.commit()
    running = console.running_jobs(db)
    assert [(r["title"], r["execution"], r["progress"]) for r in running] == [
        ("Earlier", f"{ids[1]}-1", 40),
        ("Later", f"{ids[0]}-1", None),
    ]
    assert running[0]["processing_since"].startswith("2026-01-02T04:00:00")
