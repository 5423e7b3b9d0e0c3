#!/usr/bin/env bash
# Server CPU time per request: one uvicorn process on CPU 0, wrk (-c64, D seconds) on CPU 1, the
# server's utime+stime from /proc before and after divided by the requests served. Much less
# sensitive to a busy machine than req/s. Needs DATABASE_URL/REDIS_URL for services mode.
#
#   bash bench/yardstick/cpu_per_request.sh /api/v1/auth/users/me [VAR=value ...]
#   SCRIPT=post.lua bash bench/yardstick/cpu_per_request.sh /api/v1/notifications
#   APP=yardstick_min.asgi:application APPDIR=bench/yardstick/minimal \
#     bash bench/yardstick/cpu_per_request.sh /drf DJANGO_SETTINGS_MODULE=yardstick_min.settings
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
P=$1
shift
bench_server_env
export RATE_LIMIT_ENABLED=true RATE_LIMIT_USER=1000000000/15m RATE_LIMIT_ANON=1000000000/15m
for kv in "$@"; do export "${kv?}"; done
PORT=${BENCH_PORT:-18778}
APP=${APP:-config.asgi:application}
# shellcheck disable=SC2086
taskset -c 0 "$VENV/bin/uvicorn" $APP ${APPDIR:+--app-dir $APPDIR} --host 127.0.0.1 --port "$PORT" --loop uvloop \
  --http httptools --lifespan off --no-access-log --log-level warning >/tmp/cpu-per-request-server.log 2>&1 &
SERVER_PID=$!
trap stop_server EXIT
bench_wait_up "http://127.0.0.1:$PORT$P" uvicorn /tmp/cpu-per-request-server.log || exit 1
TOKEN=
[ "$APP" = config.asgi:application ] && read -r TOKEN _ < <("$PY" bench/yardstick/bench_token.py 2>/dev/null)
wrk_run() { taskset -c 1 wrk -t1 -c64 "$@" ${SCRIPT:+-s "$SCRIPT"} -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$P"; }
wrk_run -d2s >/dev/null
T0=$(awk '{print $14+$15}' "/proc/$SERVER_PID/stat")
OUT=$(wrk_run "-d${D:-8}s")
T1=$(awk '{print $14+$15}' "/proc/$SERVER_PID/stat")
N=$(echo "$OUT" | awk '/requests in/ {print $1}')
RPS=$(echo "$OUT" | awk '/Requests\/sec/ {print $2}')
NON=$(echo "$OUT" | awk '/Non-2xx/ {print $NF}')
echo "$P $*: $RPS req/s, server CPU $(((T1 - T0) * 1000000 / $(getconf CLK_TCK) / N)) us/request, non-2xx ${NON:-0}"
