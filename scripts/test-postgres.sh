#!/usr/bin/env bash
# Make sure a local PostgreSQL answers and has a `vidpipe` role the tests may create databases with;
# prints the admin URL for VIDPIPE_TEST_POSTGRES_URL. Honours an already set VIDPIPE_TEST_POSTGRES_URL.
set -euo pipefail
if [[ -n "${VIDPIPE_TEST_POSTGRES_URL:-}" ]]; then
  echo "$VIDPIPE_TEST_POSTGRES_URL"
  exit 0
fi
if [[ "$(id -u)" == 0 ]]; then SUDO=""; AS_PG="runuser -u postgres --"; else SUDO="sudo"; AS_PG="sudo -u postgres"; fi
# Start every local cluster that is down (Debian's postgresql-common layout).
while read -r version name _port status _rest; do
  if [[ "$status" == down* ]]; then
    $SUDO pg_ctlcluster "$version" "$name" start >&2
  fi
done < <(pg_lsclusters --no-header 2>/dev/null || true)
for _ in $(seq 1 30); do
  $AS_PG psql -qtAc 'select 1' >/dev/null 2>&1 && break
  sleep 1
done
$AS_PG psql -qtAc "DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vidpipe') THEN
    CREATE ROLE vidpipe LOGIN CREATEDB PASSWORD 'vidpipe';
  END IF;
END\$\$;" >&2
echo "postgresql+psycopg://vidpipe:vidpipe@127.0.0.1:5432/postgres"
