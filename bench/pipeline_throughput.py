"""Throughput of the local pipeline with the REAL job: N uploads at once through the API, the
runner limited to C concurrent jobs (default 20 and 2).

    python bench/pipeline_throughput.py [N] [C]

Clips: 3 s 640x360 H.264+AAC test patterns, accepted through a lowered policy
(VIDPIPE_MIN_DURATION_SECONDS=1, VIDPIPE_MIN_HEIGHT=240); the job still renders the full output
(1280x720, bumpers 2 x 2.5 s, watermark). Production state machine,
VIDPIPE_MAX_RUNNING_EXECUTIONS 4.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(n: int = 20, concurrency: int = 2) -> None:
    logging.basicConfig(level=logging.WARNING)
    from fastapi.testclient import TestClient

    from api.main import create_app
    from cli.demo import make_test_clip
    from localcloud.cloud import local_cloud

    tmp = Path(tempfile.mkdtemp(prefix="vidpipe-bench-"))
    clip = tmp / "clip.mp4"
    make_test_clip(clip, seconds=3, width=640, height=360)
    data = clip.read_bytes()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with local_cloud(
        database_url=f"sqlite:///{tmp / 'vidpipe.db'}",
        port=port,
        data_dir=tmp,
        runner_concurrency=concurrency,
        task_environment={"VIDPIPE_MIN_DURATION_SECONDS": "1", "VIDPIPE_MIN_HEIGHT": "240"},
    ) as (stack, settings):
        app = create_app(settings)
        client = TestClient(app)
        password = uuid.uuid4().hex
        client.post(
            "/api/auth/signup",
            json={
                "first_name": "B",
                "last_name": "T",
                "email": "b@t.io",
                "password1": password,
                "password2": password,
                "city": "X",
                "country": "Y",
            },
        )
        token = client.post(
            "/api/auth/login", json={"email": "b@t.io", "password": password}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def upload(i: int) -> tuple[str, float]:
            with TestClient(app) as c:
                t = time.time()
                r = c.post(
                    "/api/videos/upload",
                    headers=auth,
                    data={"title": f"v{i}"},
                    files={"video_file": ("v.mp4", data, "video/mp4")},
                )
                assert r.status_code == 201, r.text
                return r.json()["video_id"], t

        t0 = time.time()
        with ThreadPoolExecutor(8) as pool:
            uploads = dict(pool.map(upload, range(n)))
        uploaded = time.time() - t0
        done: dict[str, float] = {}
        status: dict[str, str] = {}
        while len(done) < n:
            for vid in uploads:
                if vid in done:
                    continue
                body = client.get(f"/api/videos/{vid}", headers=auth).json()
                if body["status"] in ("processed", "failed"):
                    done[vid] = time.time()
                    status[vid] = body["status"]
            if time.time() - t0 > 900:
                raise SystemExit(f"timeout: {n - len(done)} not finished")
            time.sleep(0.2)
        wall = max(done.values()) - t0
        peak = stack.runner.max_seen_running
    latencies = sorted(done[v] - uploads[v] for v in uploads)
    processed = sum(s == "processed" for s in status.values())
    print(
        f"{n} uploads at once (all accepted in {uploaded:.1f} s), runner limited to {concurrency} "
        f"concurrent jobs, {os.cpu_count()} cores"
    )
    print(
        f"processed {processed}/{n}, failed {n - processed}, lost {n - len(done)}; "
        f"peak concurrent jobs {peak}"
    )
    print(f"wall {wall:.1f} s -> {n / wall * 60:.1f} videos/minute")
    print(
        f"per-video latency (upload -> processed): median {statistics.median(latencies):.1f} s, "
        f"min {latencies[0]:.1f} s, max {latencies[-1]:.1f} s"
    )
    walls = []
    for f in (tmp / "logs").glob("*.log"):
        for line in f.read_text().splitlines():
            if "reported success" in line and '"ffmpeg_wall_seconds": ' in line:
                walls.append(float(line.split('"ffmpeg_wall_seconds": ')[1].split(",")[0]))
    if walls:
        print(f"ffmpeg wall per job: median {statistics.median(walls):.1f} s")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
