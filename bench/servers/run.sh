#!/usr/bin/env bash
# Compare the ASGI servers that could serve `make run` (uvicorn, daphne, granian) on this project's
# own endpoints. Each server runs one process pinned to SERVER_CPU; wrk runs pinned to CLIENT_CPU.
# Method, criteria and the table of results: docs/benchmarks/servers.md.
#
#   bash bench/servers/run.sh                      # all three servers, 30 s per endpoint, SQLite
#   DURATION=5 SERVERS="uvicorn granian" bash bench/servers/run.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/9 \
#     bash bench/servers/run.sh                    # services mode (the database is migrated)
#   DRF_PATHS="" bash bench/servers/run.sh         # skip the authenticated DRF endpoint(s)
#
# DRF_PATHS (default /api/v1/notifications/unread-count) are called with a Bearer token of a bench user
# that the script registers (or logs in) through the running server; they are skipped with a warning
# when no token can be had.
#
# Needs: wrk, taskset (util-linux), curl, and the dev install (.venv with uvicorn, daphne, granian,
# websockets). Results are printed and kept under bench/results/servers-<time>/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

SERVERS=${SERVERS:-uvicorn daphne granian}
PATHS=${PATHS:-/health/live /health}
DRF_PATHS=${DRF_PATHS-/api/v1/notifications/unread-count}
BENCH_EMAIL=${BENCH_EMAIL:-bench-servers@example.com}
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-servers-password-not-secret-42}
DURATION=${DURATION:-30}            # seconds of measurement per server and endpoint
WARMUP=${WARMUP:-3}                 # seconds of unrecorded load first (imports, pools, caches)
CONNECTIONS=${CONNECTIONS:-64}
WRK_TIMEOUT=${WRK_TIMEOUT:-5s}      # a response slower than this counts as a wrk timeout error
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${BENCH_PORT:-8765}
WS_PATH=${WS_PATH:-/ws/notifications}
WS_EXPECT_CLOSE=${WS_EXPECT_CLOSE:-4401}  # an anonymous socket is closed 4401 after WS_AUTH_TIMEOUT_SECONDS
bench_require servers wrk taskset curl
bench_results servers

# --- the environment every server gets: production settings, quiet logs, no rate limit -----------
WORK=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

bench_server_env  # DJANGO_SETTINGS_MODULE may name another module, to A/B a settings change
export WS_AUTH_TIMEOUT_SECONDS=${WS_AUTH_TIMEOUT_SECONDS:-2}
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
export DATABASE_URL=${DATABASE_URL:-sqlite:///$WORK/bench.sqlite3}
if [ -n "${REDIS_URL:-}" ]; then export REDIS_URL; fi
MODE=embedded
case "$DATABASE_URL" in postgres*) MODE=services ;; esac
[ -n "${REDIS_URL:-}" ] && MODE=services

echo "== setup: $MODE mode, database ${DATABASE_URL%%://*}, migrate + collectstatic"
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py collectstatic --noinput -v0

# --- servers: one process each, HTTP and WebSocket -------------------------------------------------
server_command() {  # server_command NAME -> the argv that serves config.asgi on 127.0.0.1:$PORT
  case "$1" in
    uvicorn)
      echo "$VENV/bin/uvicorn config.asgi:application --host 127.0.0.1 --port $PORT --workers 1" \
           "--loop uvloop --http httptools --ws websockets-sansio --lifespan off --no-access-log --log-level warning" ;;
    daphne)
      echo "$VENV/bin/daphne -b 127.0.0.1 -p $PORT -v 0 config.asgi:application" ;;
    granian)
      # asginl: ASGI without the lifespan protocol, which the Channels router does not speak.
      echo "$VENV/bin/granian --interface asginl --host 127.0.0.1 --port $PORT --workers 1" \
           "--runtime-threads 1 --loop uvloop --no-access-log --log-level warning config.asgi:application" ;;
    *) echo "bench/servers: unknown server $1" >&2; return 1 ;;
  esac
}

start_server() {  # start_server NAME: start pinned to SERVER_CPU and wait until /health/live answers
  local name=$1 command
  command=$(server_command "$name") || return 1
  echo "$command" >"$RESULTS/$name.command"
  # shellcheck disable=SC2086 # the command is a plain word list
  taskset -c "$SERVER_CPU" $command >"$RESULTS/$name.log" 2>&1 &
  SERVER_PID=$!
  bench_wait_up "http://127.0.0.1:$PORT/health/live" "$name" "$RESULTS/$name.log"
}


server_rss_mib() {  # resident memory of the server and its worker processes
  local pids
  pids=$(ps -o pid= --ppid "$SERVER_PID" 2>/dev/null | awk -v self="$SERVER_PID" '{printf "%s,", $1} END {print self}')
  ps -o rss= -p "$pids" 2>/dev/null | awk '{kib += $1} END {printf "%.0f", kib / 1024}'
}

run_wrk() {  # run_wrk SECONDS URL [HEADER] -> wrk's report on stdout
  local seconds=$1 url=$2 header=${3:-}
  local extra=()
  [ -n "$header" ] && extra=(-H "$header")
  taskset -c "$CLIENT_CPU" wrk -t1 "-c$CONNECTIONS" "-d${seconds}s" --timeout "$WRK_TIMEOUT" --latency \
    "${extra[@]}" "$url"
}

bench_token() {  # an access token for the bench user: register once, log in afterwards
  local body endpoint token
  body=$(printf '{"email": "%s", "password": "%s", "name": "Bench"}' "$BENCH_EMAIL" "$BENCH_PASSWORD")
  for endpoint in register login; do
    token=$(curl -s -X POST -H 'Content-Type: application/json' -d "$body" \
      "http://127.0.0.1:$PORT/api/v1/auth/$endpoint" |
      "$PY" -c 'import json, sys; print(json.load(sys.stdin).get("access", ""))' 2>/dev/null) || token=
    if [ -n "$token" ]; then echo "$token"; return 0; fi
  done
  return 1
}

measure() {  # measure SERVER PATH [HEADER]: one endpoint, one line in the summary
  local server=$1 path=$2 header=${3:-} url report status rps p50 p99 errors non2xx
  url="http://127.0.0.1:$PORT$path"
  report=$RESULTS/$server${path//\//_}
  status=$(curl -s -o "$report.body" -w '%{http_code}' ${header:+-H "$header"} "$url")
  [ "$status" = 200 ] || echo "   warning: $path answered $status before the run (see $report.body)"
  if [ "$WARMUP" -gt 0 ]; then run_wrk "$WARMUP" "$url" "$header" >/dev/null; fi
  run_wrk "$DURATION" "$url" "$header" >"$report.wrk"
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$report.wrk")
  p50=$(awk '$1 == "50%" {print $2}' "$report.wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$report.wrk")
  errors=$(awk -F'[ ,]+' '/Socket errors:/ {print $5 "/" $7 "/" $9 "/" $11}' "$report.wrk")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$report.wrk")
  printf '   %-38s %10s req/s   p50 %-9s p99 %-9s errors %s non-2xx %s\n' \
    "$path" "$rps" "$p50" "$p99" "${errors:-0/0/0/0}" "${non2xx:-0}"
  echo "| $server | \`$path\` | $rps | $p50 | $p99 | ${errors:-0/0/0/0} | ${non2xx:-0} | $(server_rss_mib) |" >>"$summary"
}

summary=$RESULTS/summary.md
{
  echo "| server | endpoint | req/s | p50 | p99 | socket errors (connect/read/write/timeout) | non-2xx | RSS MiB |"
  echo "|---|---|---:|---:|---:|---|---:|---:|"
} >"$summary"
ws_summary=$RESULTS/websocket.md
echo "| server | WebSocket $WS_PATH (anonymous: expect close $WS_EXPECT_CLOSE after ${WS_AUTH_TIMEOUT_SECONDS}s) |" >"$ws_summary"
echo "|---|---|" >>"$ws_summary"

failed=()
for server in $SERVERS; do
  echo "== $server"
  if ! start_server "$server"; then
    stop_server
    failed+=("$server")
    echo "| $server | did not start (see $server.log) | | | | | | |" >>"$summary"
    continue
  fi
  for path in $PATHS; do
    measure "$server" "$path"
  done
  if [ -n "$DRF_PATHS" ]; then
    if token=$(bench_token); then
      for path in $DRF_PATHS; do
        measure "$server" "$path" "Authorization: Bearer $token"
      done
    else
      echo "   warning: no access token for $BENCH_EMAIL (auth API missing or refusing); skipping $DRF_PATHS"
    fi
  fi
  ws_outcome=$("$PY" bench/servers/ws_probe.py "ws://127.0.0.1:$PORT$WS_PATH" \
    --expect-close "$WS_EXPECT_CLOSE" --within "$(awk -v t="$WS_AUTH_TIMEOUT_SECONDS" 'BEGIN {print t + 1.5}')" \
    --wait "$(awk -v t="$WS_AUTH_TIMEOUT_SECONDS" 'BEGIN {print t + 4}')" 2>&1) \
    && ws_outcome="yes: $ws_outcome" || ws_outcome="NO: $ws_outcome"
  echo "   websocket $WS_PATH: $ws_outcome"
  echo "| $server | $ws_outcome |" >>"$ws_summary"
  stop_server
  if grep -qiE 'error|traceback' "$RESULTS/$server.log"; then
    echo "   note: $server logged errors; see $RESULTS/$server.log"
  fi
done

echo
echo "== results ($MODE mode, $CONNECTIONS connections, ${DURATION}s per endpoint, server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)"
cat "$summary"
echo
cat "$ws_summary"
echo
echo "kept in $RESULTS"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench/servers: did not start: ${failed[*]}" >&2
  exit 1
fi
