"""Real concurrency against the database: the vote totals must be exact."""

import threading
import uuid

import pytest
from sqlalchemy import func, select

from vidpipe import voting
from vidpipe.db.models import User, Video, Vote
from vidpipe.errors import BadRequest


def _race(app, calls):
    """Run every call at the same instant, each in its own thread with its own session."""
    factory = app.state.sessionmaker
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(voter_id, video_id):
        with factory() as session:
            voter = session.get(User, voter_id)
            barrier.wait()
            try:
                voting.vote(session, voter, video_id)
                result = "ok"
            except BadRequest as exc:
                result = str(exc)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture
def public_video(make_player, upload, process):
    owner = make_player()
    video_id = upload(owner).json()["video_id"]
    process(video_id)
    return uuid.UUID(owner.id), uuid.UUID(video_id)


def _totals(db, owner_id, video_id):
    db.expire_all()
    rows = db.scalar(select(func.count()).select_from(Vote).where(Vote.video_id == video_id))
    return rows, db.get(Video, video_id).votes, db.get(User, owner_id).votes_received


def test_many_players_voting_at_once_are_all_counted(
    app, db, make_player, public_video, database_url
):
    owner_id, video_id = public_video
    voters = [uuid.UUID(make_player(first=f"V{i}").id) for i in range(8)]
    outcomes = _race(app, [(voter, video_id) for voter in voters])
    assert outcomes == ["ok"] * 8
    assert _totals(db, owner_id, video_id) == (8, 8, 8)


def test_the_same_player_voting_twice_at_once_counts_once(app, db, make_player, public_video):
    owner_id, video_id = public_video
    voter = uuid.UUID(make_player(first="Eager").id)
    outcomes = _race(app, [(voter, video_id)] * 6)
    assert sorted(outcomes) == ["ok"] + ["you have already voted for this video"] * 5
    assert _totals(db, owner_id, video_id) == (1, 1, 1)
