#!/usr/bin/env bash
# Calls a running server the way a first-time user would and checks the answers.
set -euo pipefail
base=${1:-http://127.0.0.1:8000}
fail() { echo "smoke: $*" >&2; exit 1; }
expect() {  # expect STATUS METHOD PATH [curl args...]
  local want=$1 method=$2 path=$3; shift 3
  local got
  got=$(curl -s -o /tmp/smoke-body -w '%{http_code}' -X "$method" "$@" "$base$path")
  [ "$got" = "$want" ] || { cat /tmp/smoke-body; fail "$method $path gave $got, wanted $want"; }
  echo "ok  $want $method $path"
}
expect 200 GET /health
expect 200 GET /health/live
expect 200 GET /openapi.json
expect 200 GET /docs
expect 200 GET /redoc
expect 200 GET /stoplight
expect 200 GET /admin/login/
expect 404 GET /api/v1/does-not-exist
grep -q '"code"' /tmp/smoke-body || fail "404 body is not a problem document"
# /health/live is answered before Django for any Host (orchestrators probe by IP); Django checks the rest.
expect 400 GET /health -H 'Host: evil.example'
grep -q '"disallowed_host"' /tmp/smoke-body || fail "a foreign Host is not refused as disallowed_host"
echo "smoke: all passed"
