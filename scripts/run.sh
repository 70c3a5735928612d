#!/usr/bin/env bash
# `make run`: the whole system on embedded defaults, offline: the AWS emulator (with demo accounts),
# Redis if none is running, the Celery worker and the portal. Ctrl-C stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_BIN="${VENV_BIN:-$PWD/.venv/bin}"
PORTAL_HOST="${PORTAL_HOST:-127.0.0.1}"
PORTAL_PORT="${PORTAL_PORT:-8000}"
EMULATOR_PORT="${EMULATOR_PORT:-4566}"
EMULATOR_PACE="${EMULATOR_PACE:-0.5}"
LOG_DIR="${LOG_DIR:-$PWD/instance/logs}"
mkdir -p "$LOG_DIR"

export PORTAL_ENV="${PORTAL_ENV:-development}"
export PORTAL_PUBLIC_URL="${PORTAL_PUBLIC_URL:-http://$PORTAL_HOST:$PORTAL_PORT}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

wait_for() {  # wait_for NAME URL
  for _ in $(seq 1 60); do
    if "$VENV_BIN/python" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$2" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "$1 did not start; see $LOG_DIR" >&2
  exit 1
}

if ! "$VENV_BIN/python" -c "import redis,sys; redis.Redis.from_url(sys.argv[1]).ping()" "$CELERY_BROKER_URL" 2>/dev/null; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no >"$LOG_DIR/redis.log" 2>&1 &
    pids+=($!)
  else
    echo "Redis is not running and redis-server is not installed (apt-get install redis-server)." >&2
    exit 1
  fi
fi

# Without real AWS credentials in the environment, everything runs against the local emulator.
if [ -z "${AWS_ENDPOINT_URL:-}" ] && [ -z "${AWS_PROFILE:-}" ] && [ -z "${AWS_ACCESS_KEY_ID:-}" ]; then
  echo "Starting the AWS emulator on http://127.0.0.1:$EMULATOR_PORT (demo accounts, pace ${EMULATOR_PACE}s)"
  "$VENV_BIN/python" -m emulator --port "$EMULATOR_PORT" --demo --pace "$EMULATOR_PACE" >"$LOG_DIR/emulator.log" 2>&1 &
  pids+=($!)
  export AWS_ENDPOINT_URL="http://127.0.0.1:$EMULATOR_PORT"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
  wait_for emulator "$AWS_ENDPOINT_URL/moto-api/"
fi

# ensure-admin migrates (create_app does; core.db.upgrade migrates once, under a lock, whoever starts
# first: this, the worker or a gunicorn worker), then prints the first admin's password once.
"$VENV_BIN/python" -m portal ensure-admin

echo "Starting the worker"
# Celery exits when it loses Redis; like a supervisor, restart it: it resumes unfinished operations.
(
  trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
  while true; do
    "$VENV_BIN/celery" -A worker.celery_app worker --loglevel INFO --concurrency 2 >>"$LOG_DIR/worker.log" 2>&1 &
    child=$!
    wait "$child" || true
    echo "worker exited; restarting in 2 s" >>"$LOG_DIR/worker.log"
    sleep 2
  done
) &
pids+=($!)

echo "Starting the portal on $PORTAL_PUBLIC_URL"
"$VENV_BIN/gunicorn" --bind "$PORTAL_HOST:$PORTAL_PORT" --workers 2 --access-logfile - portal.wsgi:app \
  >"$LOG_DIR/portal.log" 2>&1 &
pids+=($!)
wait_for portal "$PORTAL_PUBLIC_URL/healthz"

echo
echo "Lambda Pipeline Portal is running: $PORTAL_PUBLIC_URL   (logs in $LOG_DIR, Ctrl-C stops everything)"
wait -n "${pids[@]}"
