# Shell helpers sourced by the bench/*/run.sh scripts.

SERVER_PID=

# Stop the server started in the background as $SERVER_PID: TERM, up to 10 s of grace, then KILL.
stop_server() {
  if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}

# The project's virtualenv (the scripts run from the repository root, $ROOT).
VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python

# bench_require NAME TOOL...: exit 2 naming what is missing (a tool, or the dev install).
bench_require() {
  local name=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "bench/$name: $tool is missing (apt-get install -y wrk util-linux curl)" >&2; exit 2; }
  done
  [ -x "$PY" ] || { echo "bench/$name: no $PY; run 'make install-dev' first" >&2; exit 2; }
}

# bench_results NAME: RESULTS (default bench/results/NAME-<UTC time>), created.
bench_results() {
  RESULTS=${RESULTS:-$ROOT/bench/results/$1-$(date -u +%Y%m%dT%H%M%SZ)}
  mkdir -p "$RESULTS"
}

# bench_server_env: what every benchmarked server gets: production settings, quiet logs, a fresh
# SECRET_KEY unless one is given, and no global rate limit (measure the server, not the policy).
bench_server_env() {
  export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings}
  export DEBUG=false
  export SECRET_KEY=${SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')}
  export LOG_LEVEL=${LOG_LEVEL:-WARNING}
  export RATE_LIMIT_ENABLED=false
}

# bench_wait_up URL NAME LOG: wait (up to 30 s) until URL answers while $SERVER_PID lives; on failure
# say why (printing LOG when the server exited) and return 1.
bench_wait_up() {
  local url=$1 name=$2 log=$3
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "$url"; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "$name exited:" >&2; cat "$log" >&2; return 1; }
    sleep 0.2
  done
  echo "$name did not answer $url within 30 s" >&2
  return 1
}
