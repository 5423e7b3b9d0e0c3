#!/usr/bin/env bash
# File Processor benchmark: a 1 GiB multipart upload through one uvicorn process (throughput, the
# server's peak RSS growth and the bytes it wrote), first to the yardstick's stock Django upload view
# (bench/yardstick/minimal `/upload`, same server flags) then to ours, with the ratio; then conversions
# end to end through a real Celery worker (12 MP JPEG -> 1024 px WebP thumbnail p50/p95, CSV 100k
# rows -> XLSX, 20-page Markdown -> PDF). Server/worker on CPU 0, client on CPU 1. Needs PostgreSQL
# and Redis (the worker is another process).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/files REDIS_URL=redis://127.0.0.1:6379/6 bash bench/files/run.sh
#   ... UPLOAD_MIB=128 THUMB_RUNS=5 bash bench/files/run.sh   # smoke
#   ... UPLOAD_MIB=0 THUMB_ONLY=1 bash bench/files/run.sh       # only the thumbnail latency
#   ... YARDSTICK=0 ...                                         # no stock-Django upload beside ours
# BENCH_PORT (8768) is ours; the yardstick's server listens on BENCH_PORT+1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

case "${DATABASE_URL:-}" in postgres*) ;; *)
  echo "bench/files: skipped: set DATABASE_URL to a PostgreSQL database (created beforehand)"; exit 0 ;;
esac
[ -n "${REDIS_URL:-}" ] || { echo "bench/files: skipped: set REDIS_URL (conversions run in a worker)"; exit 0; }
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${BENCH_PORT:-8768}
export UPLOAD_MIB=${UPLOAD_MIB:-1024}
YARDSTICK=${YARDSTICK:-1}
YARD_PORT=$((PORT + 1))
bench_require files taskset
bench_results files

bench_server_env
export DATABASE_URL REDIS_URL CELERY_TASK_ALWAYS_EAGER=false
export MEDIA_ROOT=${MEDIA_ROOT:-$RESULTS/media}
export FILES_MAX_UPLOAD_BYTES=$(( (UPLOAD_MIB + 16) * 1024 * 1024 ))
"$PY" manage.py migrate -v0

WORKER_PID=
YARD_PID=
stop_all() {
  stop_server
  if [ -n "$YARD_PID" ] && kill -0 "$YARD_PID" 2>/dev/null; then
    kill -TERM "$YARD_PID" 2>/dev/null || true
    wait "$YARD_PID" 2>/dev/null || true
  fi
  if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
    kill -TERM "$WORKER_PID" 2>/dev/null || true
    wait "$WORKER_PID" 2>/dev/null || true
  fi
  rm -rf "$MEDIA_ROOT"
}
trap stop_all EXIT INT TERM

taskset -c "$SERVER_CPU" "$VENV/bin/uvicorn" config.asgi:application --host 127.0.0.1 --port "$PORT" --workers 1 \
  --loop uvloop --http httptools --lifespan off --no-access-log --log-level warning >"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
YARD_ENV=()
if [ "$UPLOAD_MIB" -gt 0 ] && [ "$YARDSTICK" = 1 ]; then
  DJANGO_SETTINGS_MODULE=yardstick_min.settings taskset -c "$SERVER_CPU" "$VENV/bin/uvicorn" \
    yardstick_min.asgi:application --app-dir "$ROOT/bench/yardstick/minimal" --host 127.0.0.1 --port "$YARD_PORT" \
    --workers 1 --loop uvloop --http httptools --lifespan off --no-access-log --log-level warning \
    >"$RESULTS/yardstick-server.log" 2>&1 &
  YARD_PID=$!
  YARD_ENV=(YARDSTICK_URL="http://127.0.0.1:$YARD_PORT" YARDSTICK_PID="$YARD_PID")
  for _ in $(seq 1 150); do
    "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$YARD_PORT/sync', timeout=1)" \
      2>/dev/null && break
    sleep 0.2
  done
fi
taskset -c "$SERVER_CPU" "$PY" -m celery -A config worker -P solo -l WARNING --without-heartbeat --without-mingle \
  --without-gossip -n "bench-files@%h" >"$RESULTS/worker.log" 2>&1 &
WORKER_PID=$!
for _ in $(seq 1 150); do
  "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/health/live', timeout=1)" \
    2>/dev/null && break
  sleep 0.2
done

# The first job must not be timed while the worker is still starting (a 109 s outlier once): wait
# until it answers a ping.
for _ in $(seq 1 60); do
  "$PY" -m celery -A config inspect ping -d "bench-files@$(hostname)" --timeout 1 >/dev/null 2>&1 && break
  sleep 1
done

echo "== bench/files: UPLOAD_MIB=$UPLOAD_MIB, $(date -u +%FT%TZ), $(uptime | sed 's/.*load/load/')"
env "${YARD_ENV[@]}" SERVER_PID=$SERVER_PID BENCH_URL="http://127.0.0.1:$PORT" taskset -c "$CLIENT_CPU" \
  "$PY" bench/files/files_bench.py | tee "$RESULTS/results.txt"
echo "results: $RESULTS"
