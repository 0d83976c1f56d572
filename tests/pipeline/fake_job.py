"""A stand-in for `python -m jobs.transcode` with the same contract (environment in, S3 out,
SendTaskSuccess / SendTaskFailure), for the failure tests:

    python tests/pipeline/fake_job.py ok|crash-once|hang|invalid|failed|transient-once|transient-then-slow|by-upload

ok: writes processed/<id>/clip.mp4 and poster.jpg and reports the job result.
crash-once: the first run of a video exits 1 without reporting (as a crash); later runs are ok.
hang: heartbeats never, reports never, sleeps for ever.
invalid: reports Transcode.InvalidInput with the real job's cause for a 3 s clip.
failed: reports Transcode.Failed (an operator's cause) on every run.
by-upload: the upload's content names the mode (b"invalid", b"failed"; anything else: ok), so one
pipeline can end videos in different ways.
transient-once: reports Transcode.Transient on the first run, then ok.
transient-then-slow: like transient-once, but the later runs heartbeat for several heartbeats
(VIDPIPE_FAKE_SECONDS, default 4 heartbeats) before reporting success.
VIDPIPE_FAKE_STATE_DIR holds the per-video run counters and `<id>.tokens` (one task token per run);
VIDPIPE_FAKE_SECONDS makes `ok` slower (heartbeating every VIDPIPE_HEARTBEAT_SECONDS meanwhile).
"""

import json
import os
import sys
import time
from pathlib import Path

import boto3

mode = sys.argv[1]
env = os.environ
video_id, attempt = env["VIDPIPE_VIDEO_ID"], int(env["VIDPIPE_ATTEMPT"])
token = env["VIDPIPE_TASK_TOKEN"]
state = Path(env.get("VIDPIPE_FAKE_STATE_DIR", "/tmp")) / f"{video_id}.runs"
runs = int(state.read_text()) + 1 if state.exists() else 1
state.write_text(str(runs))
with open(state.with_suffix(".tokens"), "a") as tokens:
    tokens.write(token + "\n")
print(f"fake job {mode}: video {video_id} attempt {attempt} run {runs}", flush=True)
sfn = boto3.client("stepfunctions")
if mode == "by-upload":
    upload = boto3.client("s3").get_object(
        Bucket=env["VIDPIPE_BUCKET"], Key=env["VIDPIPE_INPUT_KEY"]
    )
    mode = {b"invalid": "invalid", b"failed": "failed"}.get(upload["Body"].read(), "ok")

if mode == "hang":
    time.sleep(3600)
if mode == "crash-once" and runs == 1:
    sys.exit(1)
if mode == "invalid":
    from rejection import real_rejection  # beside this script

    sfn.send_task_failure(taskToken=token, error="Transcode.InvalidInput", cause=real_rejection())
    sys.exit(0)
if mode == "failed":
    sfn.send_task_failure(
        taskToken=token, error="Transcode.Failed", cause="ffmpeg exited with code 234"
    )
    sys.exit(0)
if mode in ("transient-once", "transient-then-slow") and runs == 1:
    sfn.send_task_failure(taskToken=token, error="Transcode.Transient", cause="S3 download failed")
    sys.exit(0)

beat = float(env.get("VIDPIPE_HEARTBEAT_SECONDS", "10"))
seconds = float(env.get("VIDPIPE_FAKE_SECONDS", 4 * beat if mode == "transient-then-slow" else 0))
end = time.monotonic() + seconds
while time.monotonic() < end:
    time.sleep(min(beat, max(0.0, end - time.monotonic())))
    sfn.send_task_heartbeat(taskToken=token)
s3 = boto3.client("s3")
prefix = env["VIDPIPE_OUTPUT_PREFIX"]
s3.put_object(Bucket=env["VIDPIPE_BUCKET"], Key=f"{prefix}clip.mp4", Body=b"fake mp4")
s3.put_object(Bucket=env["VIDPIPE_BUCKET"], Key=f"{prefix}poster.jpg", Body=b"fake jpg")
result = {
    "output_key": f"{prefix}clip.mp4",
    "poster_key": f"{prefix}poster.jpg",
    "duration_seconds": 7.0,
    "width": 1280,
    "height": 720,
    "size_bytes": 8,
    "ffmpeg_wall_seconds": 0.1,
    "ffmpeg_cpu_seconds": 0.1,
}
(state.parent / f"{video_id}.reported").write_text(repr(time.time()))
sfn.send_task_success(taskToken=token, output=json.dumps(result))
print("reported success", flush=True)
