#!/bin/sh
# The image's entry point: which server runs is the process's role (WEB_ROLE), chosen by measurement
# (docs/benchmarks.md "Topology"):
#   all      uvicorn serves REST, WebSocket, SSE and captures (one process type; PaaS without path routing)
#   rest     granian's WSGI workers (Rust HTTP, a thread pool per process): the REST API, admin, pages
#            (compose's `web`); like uvicorn here, it trusts no X-Forwarded-* header (common/net.py decides)
#   streams  uvicorn: WebSocket, SSE, webhook captures, uploads and downloads (compose's `streams`)
set -eu
case "${WEB_ROLE:-all}" in
  rest)
    # One database connection per blocking thread, kept between requests (no pool checkout per request).
    export DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-300}"
    exec granian --interface wsgi --host "$HOST" --port "$PORT" --workers "$WEB_CONCURRENCY" \
      --blocking-threads "${WSGI_THREADS:-4}" --backlog 2048 --respawn-failed-workers --workers-kill-timeout 20s \
      --no-access-log --log-level warning config.wsgi:application ;;
  all | streams)
    export DB_CONN_MAX_AGE=0  # ASGI shares pooled connections between its threads (config/asgi.py)
    exec uvicorn config.asgi:application --host "$HOST" --port "$PORT" --workers "$WEB_CONCURRENCY" \
      --no-access-log --lifespan off --no-proxy-headers --http config.http_protocol:HeaderCaseHttpToolsProtocol \
      --ws-max-size "$WS_MAX_MESSAGE_BYTES" ;;
  *)
    echo "WEB_ROLE must be all, rest or streams (got ${WEB_ROLE})" >&2
    exit 64 ;;
esac
