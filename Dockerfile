# syntax=docker/dockerfile:1.7
# Production image: the same code and requirements.txt that `make run` uses. Database and Redis come
# from DATABASE_URL / REDIS_URL at run time (see compose.yaml). WEB_ROLE picks the server
# (deploy/serve.sh), by measurement (docs/benchmarks.md "Topology"): `rest` = granian's WSGI
# workers for REST/admin/pages, `streams` = uvicorn for WebSocket/SSE/captures/uploads, `all` (the
# default, for hosts that cannot route by path) = uvicorn for everything. Neither server trusts
# proxy headers: the app derives the client IP from X-Forwarded-For by TRUSTED_PROXY_COUNT
# (common/net.py). WebSocket frames over WS_MAX_MESSAGE_BYTES close with 1009.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    WEB_ROLE=all \
    WSGI_THREADS=4 \
    WS_MAX_MESSAGE_BYTES=65536
# libmagic1: MIME detection; pango + fonts: WeasyPrint's PDF rendering (File Processor).
RUN apt-get update && apt-get install -y --no-install-recommends curl libmagic1 libpango-1.0-0 libpangoft2-1.0-0 \
    fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=app:app . .
# collectstatic needs settings to load; the key used here never reaches a running container.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 && mkdir -p var && chown -R app:app var
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 CMD curl -fsS http://127.0.0.1:${PORT}/health/live || exit 1
CMD ["deploy/serve.sh"]
