"""gunicorn settings for the REST tier of the production topology (docs/benchmarks.md "Topology").

`gunicorn -c config/gunicorn.py config.wsgi:application` (deploy/serve.sh, role `rest`). Threaded
workers (gthread): keep-alive connections, WEB_CONCURRENCY processes x WSGI_THREADS threads; each
thread holds at most one database connection, so WEB_CONCURRENCY x WSGI_THREADS stays within what
the database accepts (and WSGI_THREADS <= DB_POOL_MAX_SIZE per process).
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - in a container
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WSGI_THREADS", "4"))
backlog = 2048
keepalive = 5
# A request slower than this (a stuck database, a client trickling its body) frees its thread.
timeout = int(os.environ.get("WSGI_TIMEOUT_SECONDS", "30"))
graceful_timeout = 20
# Never trust X-Forwarded-* for the scheme here: the app derives client IP and scheme from the
# headers its operator configured (TRUSTED_PROXY_COUNT, BEHIND_HTTPS_PROXY; common/net.py).
forwarded_allow_ips = ""
accesslog = None
errorlog = "-"
loglevel = "warning"
