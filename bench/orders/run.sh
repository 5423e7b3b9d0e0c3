#!/usr/bin/env bash
# Orders API benchmark (PostgreSQL only): list latency on 1 M orders, and Stripe webhook intake at 64 connections.
# Method and results: docs/benchmarks/orders.md.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/9 \
#     SEED_ORDERS=1000000 bash bench/orders/run.sh
#
# SEED_ORDERS (default 0) first runs `manage.py seed --orders N`; SKIP_LIST=1 measures the intake only
# (the list cases need the 1 M-row seed). One uvicorn process pinned to
# SERVER_CPU; the clients (the Python latency script, then wrk) pinned to CLIENT_CPU.
# Needs: wrk, taskset, curl, and the dev install. Results: bench/results/orders-<time>/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
HERE=$ROOT/bench/orders

DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
REPEAT=${REPEAT:-200}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${BENCH_PORT:-8767}
BASE=http://127.0.0.1:$PORT
bench_require orders wrk taskset curl
bench_results orders
case "${DATABASE_URL:-}" in postgres*) ;; *) echo "bench/orders: set DATABASE_URL to PostgreSQL" >&2; exit 2 ;; esac

WORK=$(mktemp -d)
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

bench_server_env
export STRIPE_WEBHOOK_SECRET=whsec_bench_secret
"$PY" manage.py migrate --noinput -v0
if [ "${SEED_ORDERS:-0}" -gt 0 ]; then "$PY" manage.py seed --orders "$SEED_ORDERS"; fi

taskset -c "$SERVER_CPU" "$VENV/bin/uvicorn" config.asgi:application --host 127.0.0.1 --port "$PORT" --workers 1 \
  --loop uvloop --http httptools --lifespan off --no-access-log --log-level warning >"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -sf -o /dev/null "$BASE/health/live" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RESULTS/server.log" >&2; exit 1; }
  sleep 0.2
done

if [ "${SKIP_LIST:-0}" != 1 ]; then
  echo "== list latency (in-process and over HTTP), EXPLAIN plans"
  taskset -c "$CLIENT_CPU" "$PY" "$HERE/list_latency.py" --results "$RESULTS" --base-url "$BASE" --repeat "$REPEAT"
fi

echo "== webhook intake: $CONNECTIONS connections, ${DURATION}s"
"$PY" "$HERE/make_events.py" --count 60000 --secret "$STRIPE_WEBHOOK_SECRET" --out "$WORK/events.tsv"
BENCH_EVENTS=$WORK/events.tsv BENCH_THREADS=2 taskset -c "$CLIENT_CPU" wrk -t 2 -c "$CONNECTIONS" -d "${DURATION}s" --latency \
  -s "$HERE/intake.lua" "$BASE" | tee "$RESULTS/intake.txt"
"$PY" manage.py shell -c "
from orders.models import StripeEvent
print('stored events:', StripeEvent.objects.filter(event_id__startswith='evt_bench_').count())
" | tee -a "$RESULTS/intake.txt"
echo "results in $RESULTS"
