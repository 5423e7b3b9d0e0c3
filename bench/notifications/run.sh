#!/usr/bin/env bash
# Notifications WebSocket benchmark: idle sockets held by one server process (and memory per socket),
# then publish-to-receive latency at RATE msg/s to each of LOAD_SOCKETS users. Method and results
# table: docs/benchmarks/notifications.md. Needs PostgreSQL and Redis (the publisher is another process).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_notifications REDIS_URL=redis://127.0.0.1:6379/10 \
#     bash bench/notifications/run.sh
#   ... IDLE_SOCKETS=50 LOAD_SOCKETS=50 DURATION=10 IDLE_SECONDS=5 bash bench/notifications/run.sh   # smoke
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

case "${DATABASE_URL:-}" in postgres*) ;; *)
  echo "bench/notifications: skipped: set DATABASE_URL to a PostgreSQL database (created beforehand)"; exit 0 ;;
esac
if [ -z "${REDIS_URL:-}" ]; then
  echo "bench/notifications: skipped: set REDIS_URL (the publisher is another process, so the layer must be Redis)"
  exit 0
fi
IDLE_SOCKETS=${IDLE_SOCKETS:-2000}
IDLE_SECONDS=${IDLE_SECONDS:-30}
LOAD_SOCKETS=${LOAD_SOCKETS:-1000}
RATE=${RATE:-1}
DURATION=${DURATION:-60}
PUBLISH_CONCURRENCY=${PUBLISH_CONCURRENCY:-8}
PUBLISH_MODE=${PUBLISH_MODE:-batch}        # batch: notification_send_many per PUBLISH_WINDOW; single: notification_send each
PUBLISH_WINDOW=${PUBLISH_WINDOW:-0.01}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${BENCH_PORT:-8767}
bench_require notifications taskset
bench_results notifications

# Every socket is a file descriptor in the server and in the client: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)"
echo "== file-descriptor limit: $(ulimit -n) (need > $IDLE_SOCKETS per process)"

bench_server_env
export JWT_ACCESS_TTL_SECONDS=${JWT_ACCESS_TTL_SECONDS:-7200}   # sockets close when their token expires
export DATABASE_URL REDIS_URL

trap stop_server EXIT INT TERM

start_server() {  # start_server NAME; uvicorn's default `--ws auto`, as `make serve`
  taskset -c "$SERVER_CPU" "$VENV/bin/uvicorn" config.asgi:application --host 127.0.0.1 --port "$PORT" \
    --workers 1 --loop uvloop --http httptools --lifespan off --no-access-log \
    --log-level warning --backlog 4096 >"$RESULTS/server-$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/health/live', timeout=1)" \
      2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RESULTS/server-$1.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "bench/notifications: the server did not start" >&2
  exit 1
}

bench() {  # bench NAME ARGS...
  local name=$1
  shift
  start_server "$name"
  taskset -c "$CLIENT_CPU" "$PY" bench/ws_notifications.py run --url "ws://127.0.0.1:$PORT/ws/notifications" \
    --origin "http://127.0.0.1:$PORT" --server-pid "$SERVER_PID" --publisher-cpu "$CLIENT_CPU" \
    --report "$RESULTS/$name.json" "$@" \
    >"$RESULTS/$name.out"
  stop_server
  "$PY" - "$RESULTS/$name.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
lat = r["latency_ms"]
fmt = lambda v: "-" if v is None else f"{v:.1f}"
print(f"   ready {r['sockets_ready']}/{r['sockets_requested']}  held {r['sockets_held_at_end']}  "
      f"RSS {r['server_rss_kib']}  cpu% {r['cpu_percent']}  KiB/socket {r['server_kib_per_connection']}  received {r['received']}  "
      f"p50 {fmt(lat['p50'])} ms  p99 {fmt(lat['p99'])} ms  closes {r['closes_or_errors']}")
print(f"   worst seconds {r.get('worst_seconds')}  client gc {r.get('client_gc')}")
print(f"   duplicates {r['duplicates']}  gaps {r['gaps']} (on {r['sockets_with_gaps']} sockets)  "
      f"publisher {r['publisher']}")
PYEOF
}

echo "== setup: migrate"
"$PY" manage.py migrate --noinput -v0

if [ "$IDLE_SOCKETS" -gt 0 ]; then  # IDLE_SOCKETS=0 skips the idle scenario
  echo "== idle: $IDLE_SOCKETS sockets for ${IDLE_SECONDS}s (server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU)"
  bench idle --sockets "$IDLE_SOCKETS" --publish-users 0 --duration "$IDLE_SECONDS"
fi

echo "== load: $LOAD_SOCKETS sockets, $RATE msg/s to each for ${DURATION}s, $PUBLISH_MODE publisher on CPU $CLIENT_CPU"
bench load --sockets "$LOAD_SOCKETS" --publish-users "$LOAD_SOCKETS" --rate "$RATE" --duration "$DURATION" \
  --publish-concurrency "$PUBLISH_CONCURRENCY" --publish-mode "$PUBLISH_MODE" --publish-window "$PUBLISH_WINDOW"

echo "kept in $RESULTS"
