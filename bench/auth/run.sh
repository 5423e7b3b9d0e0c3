#!/usr/bin/env bash
# Auth API benchmark: login latency (Argon2id-bound), refresh and users/me throughput.
# Method and the table of results: docs/benchmarks/auth.md.
#
#   bash bench/auth/run.sh                         # embedded mode (SQLite), 30 s per endpoint
#   DURATION=5 bash bench/auth/run.sh              # a quick smoke run
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/9 \
#     bash bench/auth/run.sh                       # services mode (the database is migrated)
#
# One uvicorn process pinned to SERVER_CPU, wrk pinned to CLIENT_CPU. Login runs once per value of
# LOGIN_CONNECTIONS (default "1 64"): at 1 connection p50/p99 is the latency of one login (hash plus
# request overhead); at 64 it shows throughput, and latency there is mostly queueing behind the
# single CPU. Refresh and users/me run at CONNECTIONS (64), refresh with one wrk thread per
# connection so that every connection follows its own rotation chain.
# Needs: wrk, taskset, curl, and the dev install. Results: bench/results/auth-<time>/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
HERE=$ROOT/bench/auth

DURATION=${DURATION:-30}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-64}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-1 64}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${BENCH_PORT:-8766}
BASE=http://127.0.0.1:$PORT
bench_require auth wrk taskset curl
bench_results auth

WORK=$(mktemp -d)
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

bench_server_env
export AUTH_RATE_LIMIT_ENABLED=false   # measure the endpoints, not the login limits
export DATABASE_URL=${DATABASE_URL:-sqlite:///$WORK/bench.sqlite3}
if [ -n "${REDIS_URL:-}" ]; then export REDIS_URL; fi
export BENCH_EMAIL=${BENCH_EMAIL:-bench@example.com}
export BENCH_PASSWORD=${BENCH_PASSWORD:-bench-password-123}
MODE=embedded
case "$DATABASE_URL" in postgres*) MODE=services ;; esac

echo "== setup: $MODE mode, migrate, benchmark user $BENCH_EMAIL"
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py shell -c "
from auth_app.models import User
u = User.objects.filter(email='$BENCH_EMAIL').first() or User.objects.create_user(email='$BENCH_EMAIL', password='x')
u.set_password('$BENCH_PASSWORD'); u.save()
"

echo "== bare hash: $("$PY" bench/auth/hash_time.py --repeat 20 | tee "$RESULTS/hash.txt")"

taskset -c "$SERVER_CPU" "$VENV/bin/uvicorn" config.asgi:application --host 127.0.0.1 --port "$PORT" --workers 1 \
  --loop uvloop --http httptools --lifespan off --no-access-log --log-level warning >"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -sf -o /dev/null "$BASE/health/live" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RESULTS/server.log" >&2; exit 1; }
  sleep 0.2
done

login() {  # one login through the API; prints the JSON token pair
  curl -sf -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\": \"$BENCH_EMAIL\", \"password\": \"$BENCH_PASSWORD\"}"
}
field() { "$PY" -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

# Tokens for the refresh run (one session per wrk thread) and an access token for users/me.
: >"$WORK/refresh.txt"
for _ in $(seq 1 "$CONNECTIONS"); do login | field refresh >>"$WORK/refresh.txt"; done
export BENCH_REFRESH_FILE=$WORK/refresh.txt
BENCH_ACCESS=$(login | field access)
export BENCH_ACCESS

wrk_run() {  # wrk_run NAME THREADS CONNECTIONS SCRIPT PATH
  local name=$1 threads=$2 conns=$3 script=$4 path=$5
  if [ "$WARMUP" -gt 0 ] && [ "$name" != refresh ]; then
    taskset -c "$CLIENT_CPU" wrk "-t$threads" "-c$conns" "-d${WARMUP}s" --timeout "$WRK_TIMEOUT" -s "$script" "$BASE$path" >/dev/null
  fi
  taskset -c "$CLIENT_CPU" wrk "-t$threads" "-c$conns" "-d${DURATION}s" --timeout "$WRK_TIMEOUT" --latency \
    -s "$script" "$BASE$path" >"$RESULTS/$name.wrk"
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$RESULTS/$name.wrk")
  p50=$(awk '$1 == "50%" {print $2}' "$RESULTS/$name.wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$RESULTS/$name.wrk")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$RESULTS/$name.wrk")
  printf '   %-20s %3s conns %10s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$name" "$conns" "$rps" "$p50" "$p99" "${non2xx:-0}"
  echo "| $name | $conns | $rps | $p50 | $p99 | ${non2xx:-0} |" >>"$RESULTS/summary.md"
}

{
  echo "| endpoint | connections | req/s | p50 | p99 | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|"
} >"$RESULTS/summary.md"
echo "== wrk ($MODE mode, ${DURATION}s each, server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)"
for conns in $LOGIN_CONNECTIONS; do
  wrk_run "login" 1 "$conns" "$HERE/login.lua" /api/v1/auth/login
  mv "$RESULTS/login.wrk" "$RESULTS/login-c$conns.wrk"
done
# Enumeration check: a wrong password for the real account vs an unknown address, one connection
# each; both are 401 (counted as non-2xx) and their p50 should differ by well under 10%.
BENCH_PASSWORD=wrong-password-123 wrk_run login-wrong-password 1 1 "$HERE/login.lua" /api/v1/auth/login
BENCH_EMAIL=nobody@example.com BENCH_PASSWORD=wrong-password-123 \
  wrk_run login-unknown-email 1 1 "$HERE/login.lua" /api/v1/auth/login
wrk_run refresh "$CONNECTIONS" "$CONNECTIONS" "$HERE/refresh.lua" /api/v1/auth/refresh
wrk_run me 1 "$CONNECTIONS" "$HERE/me.lua" /api/v1/auth/users/me

echo
cat "$RESULTS/hash.txt"
cat "$RESULTS/summary.md"
echo "kept in $RESULTS"
