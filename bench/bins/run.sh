#!/usr/bin/env bash
# Webhook capture throughput: wrk POSTs a 1 KiB JSON body to /hooks/{bin} over CONNECTIONS connections,
# spread over BINS bins, against the production serving path (uvicorn, httptools, uvloop) on PostgreSQL
# and Redis; then checks that the events stored equal the 2xx answers (nothing lost). Server and client
# are pinned to different CPUs. Results: docs/benchmarks.md ("Webhook Tester").
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_bins REDIS_URL=redis://127.0.0.1:6379/11 \
#     bash bench/bins/run.sh
#   ... DURATION=10 WORKERS=2 bash bench/bins/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

case "${DATABASE_URL:-}" in postgres*) ;; *)
  echo "bench/bins: skipped: set DATABASE_URL to a PostgreSQL database (created beforehand)"; exit 0 ;;
esac
[ -n "${REDIS_URL:-}" ] || { echo "bench/bins: skipped: set REDIS_URL"; exit 0; }
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BINS=${BINS:-64}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
WORKERS=${WORKERS:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${BENCH_PORT:-8771}
bench_require bins wrk taskset
bench_results bins

bench_server_env
export DATABASE_URL REDIS_URL
# Measure capture, not the policy: no per-bin limit, and a cap no run reaches (a trim still runs every
# BINS_CAP_TRIM_EVERY captures of a bin, finding nothing to delete).
export BINS_CAPTURE_RATE=${BINS_CAPTURE_RATE:-100000000/1m}
export BINS_EVENT_CAP=${BINS_EVENT_CAP:-100000}
export BINS_MAX_PER_USER=${BINS_MAX_PER_USER:-1000}

trap stop_server EXIT INT TERM

echo "== setup: migrate, $BINS bins"
"$PY" manage.py migrate --noinput -v0
BINS_FILE="$RESULTS/bins.txt"
export BINS_FILE
"$PY" - "$BINS" >"$BINS_FILE" <<'PYEOF'
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.contrib.auth import get_user_model
from webhook_tester.models import Bin
from webhook_tester.services import bin_create
User = get_user_model()
user = User.objects.filter(email="bench-bins@example.com").first() or User.objects.create_user(
    email="bench-bins@example.com", password="bench-password-123", name="Bench")
Bin.objects.filter(owner=user).delete()
for _ in range(int(sys.argv[1])):
    print(bin_create(owner=user)[0].pk)
PYEOF

# Every 2xx answer's event id must be stored; captures stored beyond them are those in flight when wrk
# stopped (their answers were never read), at most one per connection.
check_stored() {  # check_stored IDS_FILE
  "$PY" - "$1" <<'PYEOF'
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from webhook_tester.models import CapturedEvent
ids = [line.strip() for line in open(sys.argv[1]) if line.strip()]
found = 0
for start in range(0, len(ids), 5000):
    found += CapturedEvent.objects.filter(pk__in=ids[start:start + 5000]).count()
print(f"2xx answers {len(ids)}; their events stored {found}; "
      + ("nothing lost" if found == len(ids) else f"LOST {len(ids) - found}"))
sys.exit(0 if found == len(ids) else 1)
PYEOF
}

taskset -c "$SERVER_CPU" "$VENV/bin/uvicorn" config.asgi:application --host 127.0.0.1 --port "$PORT" \
  --workers "$WORKERS" --loop uvloop --http config.http_protocol:HeaderCaseHttpToolsProtocol --lifespan off --no-access-log --no-proxy-headers \
  --log-level warning --backlog 4096 >"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/health/live', timeout=1)" \
    2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RESULTS/server.log" >&2; exit 1; }
  sleep 0.2
done

echo "== warm-up ${WARMUP}s"
IDS_FILE="$RESULTS/warmup-ids.txt" taskset -c "$CLIENT_CPU" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" \
  -s bench/bins/capture.lua "http://127.0.0.1:$PORT" >"$RESULTS/warmup.txt"
echo "== capture: $CONNECTIONS connections, ${DURATION}s, 1 KiB JSON, $BINS bins, $WORKERS worker(s) on CPU $SERVER_CPU"
IDS_FILE="$RESULTS/ids.txt" taskset -c "$CLIENT_CPU" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" \
  --latency -s bench/bins/capture.lua "http://127.0.0.1:$PORT" | tee "$RESULTS/capture.txt"
stop_server
echo "== stored vs answered"
check_stored "$RESULTS/ids.txt" | tee "$RESULTS/stored.txt"

# The yardstick's minimal one-INSERT view (bench/yardstick, branch serve-speed) in the same run and
# topology, when it is present (YARDSTICK_DIR points elsewhere): the capture path's ratio to it.
YARDSTICK_DIR=${YARDSTICK_DIR:-$ROOT/bench/yardstick/minimal}
if [ -f "$YARDSTICK_DIR/yardstick_min/settings.py" ]; then
  echo "== yardstick min-insert: same connections, duration, body size and server"
  DJANGO_SETTINGS_MODULE=yardstick_min.settings "$PY" "$YARDSTICK_DIR/manage.py" migrate --run-syncdb --noinput -v0
  (cd "$YARDSTICK_DIR" && DJANGO_SETTINGS_MODULE=yardstick_min.settings taskset -c "$SERVER_CPU" \
    "$VENV/bin/uvicorn" yardstick_min.asgi:application --host 127.0.0.1 --port "$PORT" --workers "$WORKERS" \
    --loop uvloop --http httptools --lifespan off --no-access-log --log-level warning --backlog 4096) \
    >"$RESULTS/yardstick.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/sync', timeout=1)" 2>/dev/null && break
    sleep 0.2
  done
  taskset -c "$CLIENT_CPU" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" -s bench/bins/insert.lua \
    "http://127.0.0.1:$PORT" >/dev/null
  taskset -c "$CLIENT_CPU" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency -s bench/bins/insert.lua \
    "http://127.0.0.1:$PORT" | tee "$RESULTS/yardstick.txt"
  stop_server
  "$PY" - "$RESULTS/capture.txt" "$RESULTS/yardstick.txt" <<'PYEOF'
import re, sys
rps = [float(re.search(r"Requests/sec:\s+([\d.]+)", open(path).read()).group(1)) for path in sys.argv[1:]]
print(f"== capture {rps[0]:.0f}/s vs yardstick min-insert {rps[1]:.0f}/s: ratio {rps[0] / rps[1]:.2f}")
PYEOF
fi
echo "kept in $RESULTS"
