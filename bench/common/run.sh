#!/usr/bin/env bash
# Platform (common/) micro-benchmarks: rate-limiter overhead per request and keyset page cost.
# Method and the table of results: docs/benchmarks/common.md.
#
#   bash bench/common/run.sh                                  # embedded mode (SQLite, local-memory cache)
#   BENCH_ROWS=2000 MIN_ROUNDS=5 bash bench/common/run.sh     # a quick smoke run
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/9 \
#     bash bench/common/run.sh                                # services mode (PostgreSQL, Redis counters)
#
# In-process (Django test client, no server, no network): the numbers are the platform code's own
# cost. Pinned to SERVER_CPU with taskset when available. Results: bench/results/common-<time>/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
SERVER_CPU=${SERVER_CPU:-0}
MIN_ROUNDS=${MIN_ROUNDS:-200}
bench_results common

export SECRET_KEY=${SECRET_KEY:-bench-secret-key-not-for-production-0123456789}
export LOG_LEVEL=${LOG_LEVEL:-WARNING}
export BENCH_ROWS=${BENCH_ROWS:-20000}

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c "$SERVER_CPU")

"${PIN[@]}" "$VENV/bin/pytest" bench/common/bench_common.py -q -p no:randomly \
  --benchmark-only --benchmark-min-rounds="$MIN_ROUNDS" --benchmark-warmup=on \
  --benchmark-columns=min,median,mean,max,stddev,rounds --benchmark-sort=name \
  --benchmark-json="$RESULTS/common.json" | tee "$RESULTS/summary.txt"
echo "bench/common: results in ${RESULTS#"$ROOT"/}"
