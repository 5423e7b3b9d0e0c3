#!/usr/bin/env bash
# The yardstick: this platform's routes beside a minimal Django project (same Django/DRF, no
# middleware) under each candidate server configuration, one server process pinned to SERVER_CPU and
# wrk pinned to CLIENT_CPU, printing req/s, p50/p99, non-2xx and each of our routes as a ratio of the
# matching minimal route. Every later issue reports its speed against it (docs/benchmarks.md).
#
#   bash bench/yardstick/run.sh                                  # embedded mode (SQLite, local caches)
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/yardstick REDIS_URL=redis://127.0.0.1:6379/2 \
#     bash bench/yardstick/run.sh                                # services mode (PostgreSQL + Redis)
#   DURATION=5 SERVERS=uvicorn ROUTES="min-drf users-me" bash bench/yardstick/run.sh
#   RATE_LIMIT_ENABLED=false bash bench/yardstick/run.sh         # the rate-limit A/B (on by default)
#
# Knobs: DURATION (10 s per cell), WARMUP (2 s unrecorded first), CONNECTIONS (64), WORKERS (1),
# SERVERS (uvicorn gunicorn-sync gunicorn-gthread; also granian-asgi granian-wsgi), GTHREADS (4),
# ROUTES (names from routes.txt; all by default), SERVER_CPU (0), CLIENT_CPU (1), OURS_DIR (the
# platform checkout measured; this one by default), WSGI_DB_CONN_MAX_AGE (300: WSGI servers keep a
# connection per thread, as deploy/serve.sh runs them; 0 borrows from the pool per request).
# Routes live in bench/yardstick/routes.txt: adding one is one line there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/yardstick
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
WORKERS=${WORKERS:-1}
GTHREADS=${GTHREADS:-4}
SERVERS=${SERVERS:-uvicorn gunicorn-sync gunicorn-gthread}
ROUTES=${ROUTES:-}
OURS=${OURS_DIR:-$ROOT}             # the platform checkout to measure (e.g. an exported older commit)
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${BENCH_PORT:-18766}
WRK_TIMEOUT=${WRK_TIMEOUT:-5s}
MEASURE_RATE_LIMIT=${RATE_LIMIT_ENABLED:-true}
bench_require yardstick wrk taskset curl
bench_results yardstick

WORK=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

bench_server_env
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "bench: port $PORT is already in use (another server would be measured); set BENCH_PORT" >&2
  exit 2
fi
# The measured project runs with its rate limit ON (every /api/ request counted in the cache, as in
# production), with budgets no bench can exhaust, so the counting is measured and never a 429.
export RATE_LIMIT_ENABLED=$MEASURE_RATE_LIMIT
export RATE_LIMIT_USER=${RATE_LIMIT_USER:-1000000000/15m} RATE_LIMIT_ANON=${RATE_LIMIT_ANON:-1000000000/15m}
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
export DATABASE_URL=${DATABASE_URL:-sqlite:///$WORK/bench.sqlite3}
[ -n "${REDIS_URL:-}" ] && export REDIS_URL
MODE=embedded
case "$DATABASE_URL" in postgres*) MODE=services ;; esac
[ -n "${REDIS_URL:-}" ] && MODE=services

echo "== yardstick: $MODE mode, rate limit $RATE_LIMIT_ENABLED, ${DURATION}s per cell, $CONNECTIONS connections," \
     "$WORKERS worker(s), server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; $(uptime | sed 's/.*load/load/')"
(cd "$OURS" && "$PY" manage.py migrate --noinput -v0 && "$PY" manage.py collectstatic --noinput -v0)
# The minimal project's one table, on the same database (after ours: its auth/contenttypes are shared).
DJANGO_SETTINGS_MODULE=yardstick_min.settings "$PY" "$HERE/minimal/manage.py" migrate --run-syncdb --noinput -v0

# --- servers ---------------------------------------------------------------------------------------
server_class() {  # asgi or wsgi
  case "$1" in uvicorn | granian-asgi) echo asgi ;; *) echo wsgi ;; esac
}

server_command() {  # server_command SERVER PROJECT -> argv serving PROJECT on 127.0.0.1:$PORT
  local server=$1 project=$2 dir module
  if [ "$project" = minimal ]; then dir=$HERE/minimal module=yardstick_min; else dir=$OURS module=config; fi
  case "$server" in
    uvicorn)
      echo "$VENV/bin/uvicorn $module.asgi:application --app-dir $dir --host 127.0.0.1 --port $PORT" \
           "--workers $WORKERS --loop uvloop --http httptools --lifespan off --no-access-log --log-level warning" ;;
    gunicorn-sync)
      echo "$VENV/bin/gunicorn $module.wsgi:application --chdir $dir -b 127.0.0.1:$PORT -w $WORKERS -k sync" \
           "--log-level warning --backlog 2048" ;;
    gunicorn-gthread)
      echo "$VENV/bin/gunicorn $module.wsgi:application --chdir $dir -b 127.0.0.1:$PORT -w $WORKERS" \
           "-k gthread --threads $GTHREADS --log-level warning --backlog 2048" ;;
    granian-asgi)
      echo "$VENV/bin/granian --interface asginl --working-dir $dir --host 127.0.0.1 --port $PORT" \
           "--workers $WORKERS --runtime-threads 1 --loop uvloop --no-access-log --log-level warning $module.asgi:application" ;;
    granian-wsgi)
      echo "$VENV/bin/granian --interface wsgi --working-dir $dir --host 127.0.0.1 --port $PORT" \
           "--workers $WORKERS --blocking-threads ${GTHREADS} --no-access-log --log-level warning $module.wsgi:application" ;;
    *) echo "bench/yardstick: unknown server $server" >&2; return 1 ;;
  esac
}

start_server() {  # start_server SERVER PROJECT PROBE_PATH
  local server=$1 project=$2 probe=$3 command settings=config.settings log conn_age=0
  [ "$project" = minimal ] && settings=yardstick_min.settings
  # As deploy/serve.sh runs them: a WSGI thread keeps its database connection, ASGI borrows pooled ones.
  [ "$(server_class "$server")" = wsgi ] && conn_age=${WSGI_DB_CONN_MAX_AGE:-300}
  command=$(server_command "$server" "$project")
  log=$RESULTS/$server-$project.log
  echo "$command" >"$RESULTS/$server-$project.command"
  # shellcheck disable=SC2086 # the command is a plain word list
  DB_CONN_MAX_AGE=$conn_age DJANGO_SETTINGS_MODULE=$settings taskset -c "$SERVER_CPU" $command >"$log" 2>&1 &
  SERVER_PID=$!
  bench_wait_up "http://127.0.0.1:$PORT$probe" "$server ($project)" "$log"
}

CLK_TCK=$(getconf CLK_TCK)
tree_cpu_ticks() {  # utime+stime (clock ticks) of a process and its children (gunicorn's workers)
  local pid total=0 stat
  for pid in "$1" $(pgrep -P "$1" 2>/dev/null); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }  # the fields after "(comm)", which may hold spaces
    total=$((total + $(awk '{print $12 + $13}' <<<"$stat")))
  done
  echo "$total"
}

# --- one cell ------------------------------------------------------------------------------------
to_ms() {  # wrk's "12.34ms" / "1.20s" / "850.00us" -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.1f", n }'
}

run_cell() {  # run_cell SERVER ROUTE METHOD PATH AUTH BODY SPEC
  local server=$1 route=$2 method=$3 path=$4 auth=$5 body=$6 spec=$7 script out
  script=$WORK/$route.lua
  {
    echo "wrk.method = \"$method\""
    if [ "$body" != - ]; then
      printf 'wrk.body = [==[%s]==]\n' "$body"
      echo 'wrk.headers["Content-Type"] = "application/json"'
    fi
    if [ "$auth" = bearer ]; then echo "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\""; fi
  } >"$script"
  local wrk=(taskset -c "$CLIENT_CPU" wrk -t1 "-c$CONNECTIONS" --timeout "$WRK_TIMEOUT" -s "$script")
  [ "$WARMUP" -gt 0 ] && "${wrk[@]}" "-d${WARMUP}s" "http://127.0.0.1:$PORT$path" >/dev/null 2>&1
  out=$RESULTS/$server-$route.wrk
  local ticks_before ticks_after
  ticks_before=$(tree_cpu_ticks "$SERVER_PID")
  "${wrk[@]}" "-d${DURATION}s" --latency "http://127.0.0.1:$PORT$path" >"$out" 2>&1 || true
  ticks_after=$(tree_cpu_ticks "$SERVER_PID")
  local rps p50 p99 non2xx errors requests cpu_us
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  requests=$(awk '/requests in/ {print $1}' "$out")
  # Server CPU per request (all its processes): what "requests/s per core" means on a shared machine.
  cpu_us=$(awk -v b="$ticks_before" -v a="$ticks_after" -v n="${requests:-0}" -v hz="$CLK_TCK" \
    'BEGIN { if (n > 0) printf "%.0f", (a - b) * 1000000 / hz / n; else print 0 }')
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$(server_class "$server")" "$route" "$spec" \
    "${rps:-0}" "$p50" "$p99" "${non2xx:-0}" "${errors:-0}" "$cpu_us" >>"$RESULTS/results.tsv"
  printf '  %-14s %8.0f req/s  p50 %7s ms  p99 %7s ms  non-2xx %s  errors %s  cpu %s us/req\n' "$route" "${rps:-0}" \
    "$p50" "$p99" "${non2xx:-0}" "${errors:-0}" "$cpu_us"
}

selected() { [ -z "$ROUTES" ] || [[ " $ROUTES " == *" $1 "* ]]; }

# routes.txt -> arrays (fields split on "|", trimmed)
names=() projects=() methods=() paths=() auths=() bodies=() specs=()
trim() { sed 's/^[[:space:]]*//; s/[[:space:]]*$//' <<<"$1"; }
while IFS='|' read -r name project method path auth body spec; do
  name=$(trim "$name")
  { [ -z "$name" ] || [[ "$name" == \#* ]]; } && continue
  selected "$name" || continue
  names+=("$name") projects+=("$(trim "$project")") methods+=("$(trim "$method")")
  paths+=("$(trim "$path")") auths+=("$(trim "$auth")") bodies+=("$(trim "$body")") specs+=("$(trim "$spec")")
done <"$HERE/routes.txt"

: >"$RESULTS/results.tsv"
for server in $SERVERS; do
  for project in minimal ours; do
    probe=/health/live
    [ "$project" = minimal ] && probe=/sync
    wanted=0
    for i in "${!names[@]}"; do [ "${projects[$i]}" = "$project" ] && wanted=1; done
    [ "$wanted" = 1 ] || continue
    echo "== $server, $project"
    start_server "$server" "$project" "$probe"
    TOKEN=
    if [ "$project" = ours ]; then read -r TOKEN _ < <(cd "$OURS" && "$PY" "$HERE/bench_token.py"); fi
    for i in "${!names[@]}"; do
      [ "${projects[$i]}" = "$project" ] || continue
      run_cell "$server" "${names[$i]}" "${methods[$i]}" "${paths[$i]}" "${auths[$i]}" "${bodies[$i]}" "${specs[$i]}"
    done
    stop_server
  done
done

echo
echo "== $MODE mode, rate limit $RATE_LIMIT_ENABLED, ${DURATION}s per cell, $CONNECTIONS connections, $WORKERS worker(s) (results: $RESULTS)"
"$PY" "$HERE/summary.py" "$RESULTS/results.tsv" | tee "$RESULTS/summary.txt"
