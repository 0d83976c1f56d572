#!/usr/bin/env bash
# Install what the machine lacks for vidpipe (idempotent): ffmpeg, Node.js/npm; for the tests
# (--with-postgres, passed by `make test`) also PostgreSQL and chromium (the browser tests drive
# Debian's chromium through Playwright: Playwright's own browser download is not used).
# Uses apt-get (as root, or through sudo). Prints what it did.
set -euo pipefail

need=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [[ "${1:-}" == "--with-postgres" ]]; then
  command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)

if ((${#need[@]})); then
  SUDO=""
  [[ "$(id -u)" == 0 ]] || SUDO="sudo"
  echo "bootstrap: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
