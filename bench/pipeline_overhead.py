"""Orchestration overhead of the local pipeline, median over N videos (default 20), one at a time.

    python bench/pipeline_overhead.py [N]

Measured with a no-op job (tests/pipeline/fake_job.py ok) so that only orchestration counts:
- send -> job started: SQS SendMessage of the jobs message -> the job's process started
  (poller receive, ListExecutions, StartExecution, MarkProcessing round trip through the status
  queue and the database, ecs:runTask, the runner noticing the task, fork/exec);
- job success -> processed: the job calls SendTaskSuccess -> the row is `processed` in the
  database (Transcode state exit, RecordSuccess round trip through the status queue).
The production state machine file is used unchanged.
"""

from __future__ import annotations

import logging
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(n: int = 20) -> None:
    logging.basicConfig(level=logging.WARNING)
    from sqlalchemy.orm import sessionmaker

    from localcloud.cloud import local_cloud
    from vidpipe import aws, videos
    from vidpipe.db.models import User, Video
    from vidpipe.db.session import make_engine

    tmp = Path(tempfile.mkdtemp(prefix="vidpipe-bench-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cloud = local_cloud(
        database_url=f"sqlite:///{tmp / 'vidpipe.db'}",
        port=port,
        data_dir=tmp,
        poller_wait_seconds=10,
        task_command=[sys.executable, str(ROOT / "tests/pipeline/fake_job.py"), "ok"],
        task_environment={"VIDPIPE_FAKE_STATE_DIR": str(tmp)},
    )
    to_start, to_db, total = [], [], []
    with cloud as (stack, settings):
        sessions = sessionmaker(make_engine(settings.sqlalchemy_url), expire_on_commit=False)
        with sessions() as s:
            owner = User(
                first_name="B",
                last_name="M",
                email="b@m.io",
                password_hash="x",
                city="c",
                city_key="c",
                country="x",
            )
            s.add(owner)
            s.commit()
        for i in range(n + 1):  # the first run warms up (imports, connections) and is dropped
            vid = uuid.uuid4()
            key = f"uploads/{vid}.mp4"
            aws.client("s3").put_object(Bucket=settings.bucket, Key=key, Body=b"x")
            with sessions() as s:
                video = videos.create_video(
                    s, video_id=vid, owner=owner, title="b", key=key, size=1
                )
                sent = time.time()
                videos.publish(s, video, settings)
            while True:
                with sessions() as s:
                    row = s.get(Video, vid)
                    if row.status in ("processed", "failed"):
                        break
                time.sleep(0.005)
            assert row.status == "processed", row.error
            task = next(
                t for t in stack.runner.launched if t.env.get("VIDPIPE_VIDEO_ID") == str(vid)
            )
            started = stack.runner.started[task.arn]
            reported = float((tmp / f"{vid}.reported").read_text())
            if i == 0:
                continue
            to_start.append(started - sent)
            to_db.append(row.processed_at.timestamp() - reported)
            total.append(row.processed_at.timestamp() - sent)

    def fmt(xs):
        q = statistics.quantiles(xs, n=10)
        return (
            f"median {statistics.median(xs):.3f} s  p90 {q[-1]:.3f} s  "
            f"min {min(xs):.3f} s  max {max(xs):.3f} s"
        )

    print(
        f"videos: {n} (one at a time, no-op job, production state machine), {os.cpu_count()} cores"
    )
    print(f"message sent -> job process started: {fmt(to_start)}")
    print(f"job SendTaskSuccess -> database processed: {fmt(to_db)}")
    print(f"message sent -> database processed (whole run, no-op job): {fmt(total)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
