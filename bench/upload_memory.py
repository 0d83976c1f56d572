"""Peak memory of the API process during a 100 MB upload.

    .venv/bin/python bench/upload_memory.py

What is measured: the API server process alone. `vidpipe up` runs moto (S3) inside the API
process, and moto keeps every uploaded object in memory, so a 100 MB upload would add ~100 MB to
that process whatever the API does. This script therefore starts
  - a separate `moto_server` process (from the same venv) with the bucket and jobs queue created,
  - `vidpipe api` (the API alone, SQLite in a temp dir) with AWS_ENDPOINT_URL pointing at it and
    VIDPIPE_BUCKET / VIDPIPE_JOBS_QUEUE_URL set,
then samples the API process's VmRSS every 10 ms from /proc/<pid>/status (and reads VmHWM, the
kernel's own peak, reset just before the upload through /proc/<pid>/clear_refs), and uploads a
file of just under the 100 MiB limit: a valid `ftyp` box followed by random bytes (the API checks
the MP4 by its first bytes; the body is never decoded). The file is streamed from disk by the
client. Target (issue): the API process's peak RSS grows by less than 30 MB.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench._common import RssSampler, api_on_sqlite, print_json, proc_status_kb  # noqa: E402

TARGET_GROWTH_MB = 30.0
MIB = 1024 * 1024
UPLOAD_BYTES = 100 * MIB - 4096  # just under the API's 100 MiB limit


def make_mp4_headed_file(path: Path, size: int) -> None:
    brands = b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41"
    ftyp = struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands
    with open(path, "wb") as f:
        f.write(ftyp)
        remaining = size - len(ftyp)
        while remaining:
            chunk = os.urandom(min(MIB, remaining))
            f.write(chunk)
            remaining -= len(chunk)


def upload(client: httpx.Client, token: str, path: Path, title: str) -> httpx.Response:
    with open(path, "rb") as f:
        return client.post(
            "/api/videos/upload",
            headers={"Authorization": f"Bearer {token}"},
            files={"video_file": (path.name, f, "video/mp4")},
            data={"title": title},
        )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="vidpipe-bench-upload-") as tmp:
        tmp = Path(tmp)
        big = tmp / "big.mp4"
        small = tmp / "small.mp4"
        make_mp4_headed_file(big, UPLOAD_BYTES)
        make_mp4_headed_file(small, 2 * MIB)
        with api_on_sqlite(tmp) as api:
            with httpx.Client(base_url=api.base, timeout=300) as client:
                client.post(
                    "/api/auth/signup",
                    json={
                        "first_name": "Mem",
                        "last_name": "Bench",
                        "email": "mem@bench.example.com",
                        "password1": "bench-password",
                        "password2": "bench-password",
                        "city": "Cali",
                        "country": "Colombia",
                    },
                ).raise_for_status()
                token = client.post(
                    "/api/auth/login",
                    json={
                        "email": "mem@bench.example.com",
                        "password": "bench-password",
                    },
                ).json()["access_token"]
                # Warm-up: a 2 MiB upload loads every code path (multipart, S3 multipart
                # transfer, SQS) so the baseline is the steady state, not a cold process.
                upload(client, token, small, "warm-up").raise_for_status()
                time.sleep(1)
                baseline_kb = proc_status_kb(api.pid, "VmRSS")
                Path(f"/proc/{api.pid}/clear_refs").write_text("5")  # reset VmHWM
                sampler = RssSampler(api.pid)
                sampler.start()
                started = time.perf_counter()
                response = upload(client, token, big, "100 MB upload")
                seconds = time.perf_counter() - started
                time.sleep(0.5)
                sampler.stop()
                hwm_kb = proc_status_kb(api.pid, "VmHWM")
                after_kb = proc_status_kb(api.pid, "VmRSS")
            response.raise_for_status()
            video_id = response.json()["video_id"]
            import boto3

            s3 = boto3.client(
                "s3",
                endpoint_url=api.aws_env["AWS_ENDPOINT_URL"],
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            stored = s3.head_object(Bucket="vidpipe-media", Key=f"uploads/{video_id}.mp4")
            stored_bytes = stored["ContentLength"]

    peak_kb = max(sampler.peak_kb, hwm_kb)
    growth_mb = (peak_kb - baseline_kb) / 1024
    print_json(
        "upload",
        {
            "file_bytes": UPLOAD_BYTES,
            "stored_bytes": stored_bytes,
            "status": response.status_code,
            "seconds": round(seconds, 2),
            "mb_per_s": round(UPLOAD_BYTES / MIB / seconds, 1),
        },
    )
    print_json(
        "api_rss_mb",
        {
            "baseline": round(baseline_kb / 1024, 1),
            "peak_sampled": round(sampler.peak_kb / 1024, 1),
            "peak_vmhwm": round(hwm_kb / 1024, 1),
            "after": round(after_kb / 1024, 1),
            "growth": round(growth_mb, 1),
            "samples": sampler.samples,
        },
    )
    print(
        "measured: the `vidpipe api` process alone; S3 is a separate moto_server process "
        "(in `vidpipe up` moto holds the object in the API's own memory)."
    )
    ok = growth_mb < TARGET_GROWTH_MB and stored_bytes == UPLOAD_BYTES
    print(
        f"TARGET peak RSS growth < {TARGET_GROWTH_MB:.0f} MB: {'MET' if ok else 'MISSED'} "
        f"(+{growth_mb:.1f} MB)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
