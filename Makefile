# Everything a person does with this project is a target here; the README and CI call these.
# Embedded mode by default (SQLite, in-memory layers, in-process Celery); set DATABASE_URL and
# REDIS_URL to run on PostgreSQL and Redis.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 1
IMAGE  ?= api-platform:latest
# uvicorn's own limits, from the environment like the settings of the same names (.env.example).
# Its proxy-header handling stays off: common.net.client_ip reads X-Forwarded-For by TRUSTED_PROXY_COUNT.
WS_MAX_MESSAGE_BYTES ?= 65536
UVICORN_LIMITS := --no-proxy-headers --ws-max-size $(WS_MAX_MESSAGE_BYTES)

.DEFAULT_GOAL := help
.PHONY: help install install-dev run dev serve serve-rest test lint fmt typecheck check migrate seed worker beat flower \
        bench shell build lock lock-check clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed: $(VENV)/.python-ok requirements.txt
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed .env  ## create .venv, install the runtime packages, write .env (a SECRET_KEY)

install-dev: $(VENV)/.installed-dev .env  ## also install test, lint and benchmark tools (and write .env)

# .env holds the SECRET_KEY that signs every JWT, and var/db.sqlite3 every password hash: both are
# created readable by their owner only (umask 077; config/env.py also creates the database 0600).
.env:
	@umask 077; $(PYTHON) -c 'import secrets; print("# written by make; see .env.example for every variable"); print("SECRET_KEY=" + secrets.token_urlsafe(50))' > $@
	@echo "wrote .env with a fresh SECRET_KEY"

run: install .env migrate seed  ## install, migrate, seed and serve on $(HOST):$(PORT)
	@chmod 600 .env; if [ -f var/db.sqlite3 ]; then chmod 600 var/db.sqlite3*; fi  # tighten older checkouts
	$(PY) manage.py collectstatic --noinput -v0
	$(MAKE) --no-print-directory serve

serve:  ## serve the ASGI app (HTTP + WebSocket) without the set-up steps
	@if [ "$(WORKERS)" != "1" ] && [ -z "$$REDIS_URL" ]; then \
		echo "WORKERS=$(WORKERS) needs REDIS_URL: the embedded cache, channel layer and denylist live in one process"; \
		exit 2; fi
	$(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS) \
		--no-access-log --lifespan off $(UVICORN_LIMITS) \
		--http config.http_protocol:HeaderCaseHttpToolsProtocol

serve-rest:  ## the REST tier of the services topology: granian's WSGI workers (needs REDIS_URL)
	@if [ -z "$$REDIS_URL" ]; then echo "serve-rest needs REDIS_URL: it runs beside \`make serve\` for the streams"; exit 2; fi
	HOST=$(HOST) PORT=$(PORT) WEB_CONCURRENCY=$(WORKERS) WEB_ROLE=rest PATH=$(VENV)/bin:$$PATH sh deploy/serve.sh

dev: install .env migrate  ## serve with auto-reload and DEBUG on
	DEBUG=true $(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --reload --lifespan off $(UVICORN_LIMITS)

test: install-dev  ## run the whole suite (PostgreSQL/Redis when their URLs are set, embedded otherwise)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev  ## ruff lint + format check, import contracts, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	SECRET_KEY=$${SECRET_KEY:-typecheck-only} $(VENV)/bin/mypy .

fmt: install-dev  ## format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install-dev  ## Django system checks, migrations up to date, requirements files current
	DEBUG=true $(PY) manage.py check
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory lock-check

migrate: install .env  ## apply migrations
	umask 077; $(PY) manage.py migrate --noinput

seed: install .env  ## load demo data (idempotent)
	umask 077; $(PY) manage.py seed

worker: install  ## a Celery worker (needs REDIS_URL)
	$(VENV)/bin/celery -A config worker --loglevel=INFO --concurrency=$(or $(CONCURRENCY),2)

beat: install  ## the Celery beat scheduler (needs REDIS_URL)
	$(VENV)/bin/celery -A config beat --loglevel=INFO

flower: install  ## Celery monitoring on :5555 (needs REDIS_URL)
	$(VENV)/bin/celery -A config flower --port=5555 --url_prefix=flower

bench: install-dev  ## run the benchmarks in bench/ (see docs/benchmarks.md)
	bash bench/run-all.sh

shell: install .env  ## a Django shell
	$(PY) manage.py shell

build:  ## the Docker image
	docker build -t $(IMAGE) .

lock: install-dev  ## regenerate requirements*.txt from pyproject.toml (keeps existing pins)
	$(VENV)/bin/uv pip compile --quiet --no-header --python-version 3.11 pyproject.toml -o requirements.txt
	$(VENV)/bin/uv pip compile --quiet --no-header --python-version 3.11 --extra dev pyproject.toml \
		-c requirements.txt -o requirements-dev.txt

lock-check: install-dev  ## fail when requirements*.txt no longer match pyproject.toml
	@tmp=$$(mktemp -d); cp requirements.txt requirements-dev.txt $$tmp/; \
	$(VENV)/bin/uv pip compile --quiet --no-header --python-version 3.11 pyproject.toml -o $$tmp/requirements.txt && \
	$(VENV)/bin/uv pip compile --quiet --no-header --python-version 3.11 --extra dev pyproject.toml \
		-c requirements.txt -o $$tmp/requirements-dev.txt && \
	diff -u requirements.txt $$tmp/requirements.txt && diff -u requirements-dev.txt $$tmp/requirements-dev.txt && \
	echo "requirements files are current"

clean:  ## remove the virtualenv, collected static files and local data
	rm -rf $(VENV) staticfiles var/db.sqlite3*
