#!/usr/bin/env bash
# Run the Postman collection (collections/) with newman against a fresh `vidpipe up`.
#
#   bash tests/newman/run.sh                 # every folder
#   NEWMAN_FOLDERS="01 Accounts and login|02 Uploads and own videos" bash tests/newman/run.sh
#
# Environment:
#   VIDPIPE_VENV_BIN          bin dir of the venv with vidpipe installed (default: .venv/bin)
#   NEWMAN_FOLDERS            '|'-separated folder names to run (default: all, in collection order)
#   NEWMAN_PROCESSING_TIMEOUT seconds the collection waits for a video to be processed (default 90)
#   NEWMAN_REPORT_DIR         where the JUnit report goes (default: build/newman)
#   NEWMAN_MAX_SECONDS        hard limit for the newman run (default 900)
#
# Starts `vidpipe up` (SQLite in a temp dir, embedded moto on PORT+1) with a processing policy the
# generated 2 s 426x240 clip satisfies, generates the upload files, runs newman, then stops the
# server with SIGTERM and checks that it exits with status 0 within 20 s. Exits non-zero on any
# failure; the trap always stops the server.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV_BIN="${VIDPIPE_VENV_BIN:-$ROOT/.venv/bin}"
PY="$VENV_BIN/python"
NEWMAN="$ROOT/node_modules/.bin/newman"
REPORT_DIR="${NEWMAN_REPORT_DIR:-$ROOT/build/newman}"
TIMEOUT="${NEWMAN_PROCESSING_TIMEOUT:-90}"

log() { echo "newman-run: $*" >&2; }

[[ -x "$PY" ]] || { log "no python at $PY (set VIDPIPE_VENV_BIN)"; exit 2; }
command -v ffmpeg >/dev/null || { log "ffmpeg is required (apt-get install ffmpeg)"; exit 2; }
if [[ ! -x "$NEWMAN" ]]; then
  command -v npm >/dev/null || { log "node/npm are required (apt-get install nodejs npm)"; exit 2; }
  log "installing the pinned node tools (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --silent)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vidpipe-newman.XXXXXX")"
FILES="$WORK/files"
mkdir -p "$FILES" "$REPORT_DIR"
SERVER_PID=""

stop_server() {
  # SIGTERM, then SIGKILL to the whole process group if it is still there after 20 s.
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "server $pid did not stop within 20 s of SIGTERM: killing it"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  return 1
}

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    stop_server "$SERVER_PID" || true
  fi
  if [[ $rc -ne 0 && -f "$WORK/server.log" ]]; then
    log "server log (last 60 lines):"
    tail -n 60 "$WORK/server.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port P with P+1 free too (the API and its embedded moto).
PORT="$("$PY" -m localcloud.ports)"
BASE_URL="http://127.0.0.1:$PORT"

# The server gets a clean environment: no VIDPIPE_*/AWS_* from the caller (it must use its own
# SQLite and moto), plus the processing policy the test clip satisfies (read by the transcode job).
# setsid: its own process group, so the trap can reach anything it spawns.
(
  while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(VIDPIPE_|AWS_)' || true)
  export VIDPIPE_MIN_DURATION_SECONDS=1 VIDPIPE_MIN_HEIGHT=240
  exec setsid "$PY" -m cli up --port "$PORT" --data-dir "$WORK/data"
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
log "vidpipe up on $BASE_URL (pid $SERVER_PID, data $WORK/data)"

# Upload files, in newman's --working-dir: a real 2 s 426x240 H.264 clip, an MP4 header followed
# by garbage (accepted by the upload, fails processing), and a text file named .mp4.
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=426x240:rate=25 -t 2 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -movflags +faststart "$FILES/clip.mp4"
{ printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2'; head -c 16384 /dev/urandom; } >"$FILES/broken.mp4"
printf 'this is a text file, not a video\n' >"$FILES/not-a-video.mp4"

# Wait (bounded) for /api/health.
"$PY" - "$BASE_URL" "$SERVER_PID" <<'EOF'
import json, os, sys, time, urllib.request
url, pid = sys.argv[1] + "/api/health", int(sys.argv[2])
deadline = time.monotonic() + 90
while True:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            body = json.load(r)
            if body.get("status") == "ok":
                break
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("newman-run: vidpipe up exited before answering /api/health")
    if time.monotonic() > deadline:
        sys.exit("newman-run: /api/health did not answer ok within 90 s")
    time.sleep(0.3)
EOF

folder_args=()
if [[ -n "${NEWMAN_FOLDERS:-}" ]]; then
  IFS='|' read -r -a folders <<<"$NEWMAN_FOLDERS"
  for f in "${folders[@]}"; do folder_args+=(--folder "$f"); done
fi

set +e
# Bounded: the collection itself waits at most processingTimeoutSeconds per video.
timeout --signal=TERM --kill-after=10 "${NEWMAN_MAX_SECONDS:-900}" "$NEWMAN" run "$ROOT/collections/vidpipe.postman_collection.json" \
  --environment "$ROOT/collections/vidpipe.postman_environment.json" \
  --env-var "baseUrl=$BASE_URL" \
  --env-var "processingTimeoutSeconds=$TIMEOUT" \
  --working-dir "$FILES" \
  --timeout-request 60000 \
  --reporters cli,junit --reporter-junit-export "$REPORT_DIR/newman.xml" \
  --color off --disable-unicode \
  "${folder_args[@]}"
NEWMAN_RC=$?
set -e

log "newman exited with $NEWMAN_RC; stopping the server with SIGTERM"
if ! stop_server "$SERVER_PID"; then
  SERVER_PID=""
  exit 1
fi
set +e
wait "$SERVER_PID"
SERVER_RC=$?
set -e
SERVER_PID=""
if [[ $SERVER_RC -ne 0 ]]; then
  log "vidpipe up exited with status $SERVER_RC after SIGTERM (expected 0)"
  tail -n 60 "$WORK/server.log" >&2
  exit 1
fi
log "server stopped cleanly"
exit "$NEWMAN_RC"
