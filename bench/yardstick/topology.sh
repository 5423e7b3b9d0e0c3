#!/usr/bin/env bash
# Production topology by measurement (issue 8 item 7): services mode, two server processes on this
# 2-core machine, 64 and 256 connections, the REST routes of routes.txt. Servers are not pinned (two
# processes share the two cores with wrk); compare the rows with each other, not with the yardstick.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/yardstick REDIS_URL=redis://127.0.0.1:6379/2 \
#     bash bench/yardstick/topology.sh
#
# Knobs: DURATION (10), CONNECTION_LEVELS ("64 256"), TOPOLOGIES ("uvicorn-2 gunicorn-gthread-2
# granian-asgi-2"; also granian-wsgi-2, gunicorn-sync-2), ROUTES ("users-me unread-count notify-self"), GTHREADS (8).
# gunicorn-gthread-2 is topology (b): in production the front proxy sends /ws/ and the SSE path to one
# ASGI process; REST-only load never reaches it, so only the WSGI workers are measured here.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/yardstick
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

DURATION=${DURATION:-10}
CONNECTION_LEVELS=${CONNECTION_LEVELS:-64 256}
TOPOLOGIES=${TOPOLOGIES:-uvicorn-2 gunicorn-gthread-2 granian-asgi-2}
ROUTES=${ROUTES:-users-me unread-count notify-self}
GTHREADS=${GTHREADS:-8}
PORT=${BENCH_PORT:-18767}
bench_require topology wrk curl
bench_results topology
[ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ] || { echo "bench/topology: set DATABASE_URL and REDIS_URL" >&2; exit 2; }

GROUP=
cleanup() {
  stop_server
  if [ -n "$GROUP" ]; then kill -KILL -- "-$GROUP" 2>/dev/null || true; fi
}
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "bench: port $PORT is already in use (another server would be measured); set BENCH_PORT" >&2
  exit 2
fi

trap cleanup EXIT INT TERM

bench_server_env
export RATE_LIMIT_ENABLED=${RATE_LIMIT:-true}
export RATE_LIMIT_USER=1000000000/15m RATE_LIMIT_ANON=1000000000/15m
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
"$PY" manage.py migrate --noinput -v0

command_for() {
  case "$1" in
    uvicorn-2) echo "$VENV/bin/uvicorn config.asgi:application --host 127.0.0.1 --port $PORT --workers 2 --loop uvloop --http httptools --lifespan off --no-access-log --log-level warning" ;;
    gunicorn-gthread-2) echo "$VENV/bin/gunicorn config.wsgi:application -b 127.0.0.1:$PORT -w 2 -k gthread --threads $GTHREADS --log-level warning --backlog 2048" ;;
    gunicorn-sync-2) echo "$VENV/bin/gunicorn config.wsgi:application -b 127.0.0.1:$PORT -w 2 -k sync --log-level warning --backlog 2048" ;;
    granian-wsgi-2) echo "$VENV/bin/granian --interface wsgi --host 127.0.0.1 --port $PORT --workers 2 --blocking-threads $GTHREADS --no-access-log --log-level warning --backlog 2048 config.wsgi:application" ;;
    granian-asgi-2) echo "$VENV/bin/granian --interface asginl --host 127.0.0.1 --port $PORT --workers 2 --runtime-threads 1 --loop uvloop --no-access-log --log-level warning --backlog 2048 config.asgi:application" ;;
    *) echo "unknown topology $1" >&2; return 1 ;;
  esac
}

route_field() {  # route_field NAME FIELD(3=method 4=path 6=body)
  awk -F'|' -v n="$1" -v f="$2" '{gsub(/^[ \t]+|[ \t]+$/, "", $1)} $1 == n {v = $f; gsub(/^[ \t]+|[ \t]+$/, "", v); print v}' "$HERE/routes.txt"
}

printf '%-20s %-14s %5s %9s %9s %9s %8s %7s\n' topology route conns req/s p50_ms p99_ms non2xx errors | tee "$RESULTS/summary.txt"
for topology in $TOPOLOGIES; do
  command=$(command_for "$topology")
  # shellcheck disable=SC2086 # its own process group, so its workers stop with it
  conn_age=0  # as deploy/serve.sh: WSGI threads keep their database connection, ASGI borrows pooled ones
  case "$topology" in gunicorn* | granian-wsgi*) conn_age=${WSGI_DB_CONN_MAX_AGE:-300} ;; esac
  DB_CONN_MAX_AGE=$conn_age setsid $command >"$RESULTS/$topology.log" 2>&1 &
  SERVER_PID=$!
  GROUP=$SERVER_PID
  bench_wait_up "http://127.0.0.1:$PORT/health/live" "$topology" "$RESULTS/$topology.log"
  read -r TOKEN _ < <("$PY" "$HERE/bench_token.py")
  for route in $ROUTES; do
    method=$(route_field "$route" 3) path=$(route_field "$route" 4) body=$(route_field "$route" 6)
    script=$RESULTS/$route.lua
    { echo "wrk.method = \"$method\""
      if [ "$body" != - ]; then printf 'wrk.body = [==[%s]==]\nwrk.headers["Content-Type"] = "application/json"\n' "$body"; fi
      echo "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\""; } >"$script"
    for conns in $CONNECTION_LEVELS; do
      wrk -t2 "-c$conns" -d2s --timeout 10s -s "$script" "http://127.0.0.1:$PORT$path" >/dev/null 2>&1 || true
      out=$RESULTS/$topology-$route-$conns.wrk
      wrk -t2 "-c$conns" "-d${DURATION}s" --timeout 10s --latency -s "$script" "http://127.0.0.1:$PORT$path" >"$out" 2>&1 || true
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
      p50=$(awk '$1 == "50%" {print $2}' "$out") p99=$(awk '$1 == "99%" {print $2}' "$out")
      non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
      errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
      printf '%-20s %-14s %5s %9.0f %9s %9s %8s %7s\n' "$topology" "$route" "$conns" "${rps:-0}" "$p50" "$p99" \
        "${non2xx:-0}" "${errors:-0}" | tee -a "$RESULTS/summary.txt"
    done
  done
  echo "  server log lines with error/exception: $(grep -ciE "error|exception|traceback" "$RESULTS/$topology.log" || true)"
  stop_server
  kill -KILL -- "-$GROUP" 2>/dev/null || true  # workers the master left behind
done
echo "(results: $RESULTS)"
