#!/usr/bin/env bash
# A 200 MB request body against the serving path: how much the server reads before its 413, and how
# much its memory grows; then 4 unauthenticated WebSockets each sending one 16 MB frame. One uvicorn process (the Makefile's flags) pinned to SERVER_CPU, the client
# (bench/limits/body.py) to CLIENT_CPU. Embedded mode unless DATABASE_URL / REDIS_URL are set.
#
#   bash bench/limits/run.sh                  # 200 MB, by Content-Length and chunked, two routes
#   SIZE_MB=50 PORT=8710 bash bench/limits/run.sh
#
# "read" is the server's rchar delta (/proc/<pid>/io: every byte its read/recv calls returned), "sent"
# what the client got onto the connection before the refusal reached it, "RSS +" the server's
# resident-set growth over the whole request (VmHWM, the peak, minus VmRSS before).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
source bench/lib.sh
bench_require limits taskset
bench_results limits
bench_server_env

PORT=${PORT:-8710}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SIZE_MB=${SIZE_MB:-200}
WS_MAX_MESSAGE_BYTES=${WS_MAX_MESSAGE_BYTES:-65536}
trap stop_server EXIT

taskset -c "$SERVER_CPU" "$VENV/bin/uvicorn" config.asgi:application --host 127.0.0.1 --port "$PORT" --workers 1 \
  --no-access-log --lifespan off --no-proxy-headers --ws-max-size "$WS_MAX_MESSAGE_BYTES" \
  >"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1 && break; sleep 0.1; done

taskset -c "$CLIENT_CPU" "$PY" bench/limits/body.py --port "$PORT" --server-pid "$SERVER_PID" --size-mb "$SIZE_MB" \
  | tee "$RESULTS/results.md"
echo "results in $RESULTS"
