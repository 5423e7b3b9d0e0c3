"""Liveness and readiness: the body, the 503 problem that names what is down, and what neither touches.

A backend is taken "down" by pointing its setting at a real closed port (127.0.0.1:1) or at a port
that accepts connections and never answers, never by replacing our own code.
"""

import asyncio
import json
import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from django.test import override_settings

from .servers import CLOSED, running_server

CHECK_NAMES = {"database", "cache", "channel_layer", "broker"}
USING_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
USING_REDIS = bool(os.environ.get("REDIS_URL"))


def redis_cache_at(address: str, socket_timeout: float = 1.0) -> dict:
    return {
        "default": {
            "BACKEND": "common.cache.PlatformRedisCache",
            "LOCATION": f"redis://{address}/0",
            "OPTIONS": {"socket_connect_timeout": socket_timeout, "socket_timeout": socket_timeout},
        }
    }


def redis_channel_layer_at(address: str) -> dict:
    return {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [f"redis://{address}/0"]}}
    }


@pytest.fixture
def silent_port() -> Iterator[str]:
    """A port that accepts TCP connections (the kernel's backlog) but never says a word: a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store"


# --- /health/live -------------------------------------------------------------------------------


async def test_live_answers_ok(async_client):
    response = await async_client.get("/health/live")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert_no_store(response)


async def test_live_touches_no_backend(async_client):
    # Given: no database access allowed (no django_db mark) and every other backend on a closed port
    with override_settings(
        CACHES=redis_cache_at(CLOSED),
        CHANNEL_LAYERS=redis_channel_layer_at(CLOSED),
        CELERY_BROKER_URL=f"redis://{CLOSED}/0",
    ):
        # When
        response = await async_client.get("/health/live")

    # Then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# --- /health: all up ----------------------------------------------------------------------------


@pytest.mark.django_db
async def test_ready_reports_every_check_ok(async_client):
    response = await async_client.get("/health")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert_no_store(response)
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECK_NAMES
    for result in body["checks"].values():
        assert result["status"] == "ok"
        assert isinstance(result["latency_ms"], int | float)
        assert result["latency_ms"] >= 0


@pytest.mark.django_db
async def test_ready_reports_the_broker_mode(async_client, settings):
    body = (await async_client.get("/health")).json()

    if settings.CELERY_BROKER_URL.startswith("memory://"):
        assert body["checks"]["broker"]["mode"] == "embedded"
    else:
        assert "mode" not in body["checks"]["broker"]


@pytest.mark.django_db
def test_ready_answers_the_sync_test_client_too(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


# --- /health: something down ----------------------------------------------------------------------


def assert_unavailable(response, down: set[str]) -> dict:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert_no_store(response)
    body = response.json()
    assert body["status"] == 503
    assert body["code"] == "service_unavailable"
    assert body["title"] and body["type"]
    for name in down:
        assert name in body["detail"]
        assert body["checks"][name]["status"] == "error"
        assert body["checks"][name]["error"]
    for name in CHECK_NAMES - down:
        assert body["checks"][name]["status"] == "ok", body["checks"][name]
    return body


DOWN_CASES: dict[str, dict[str, Any]] = {
    "cache": {"CACHES": redis_cache_at(CLOSED)},
    "channel_layer": {"CHANNEL_LAYERS": redis_channel_layer_at(CLOSED)},
    "broker": {"CELERY_BROKER_URL": f"redis://{CLOSED}/0"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("down", sorted(DOWN_CASES))
async def test_ready_names_the_backend_on_a_closed_port(async_client, down):
    with override_settings(**DOWN_CASES[down]):
        response = await async_client.get("/health")

    assert_unavailable(response, {down})


@pytest.mark.django_db
async def test_ready_checks_a_non_redis_broker_through_kombu(async_client):
    with override_settings(CELERY_BROKER_URL=f"amqp://guest:guest@{CLOSED}//"):
        response = await async_client.get("/health")

    assert_unavailable(response, {"broker"})


@pytest.mark.django_db
async def test_ready_names_every_backend_down_at_once(async_client):
    with override_settings(**{key: value for case in DOWN_CASES.values() for key, value in case.items()}):
        response = await async_client.get("/health")

    assert_unavailable(response, {"cache", "channel_layer", "broker"})


@pytest.mark.django_db
async def test_a_hung_backend_is_cut_off_at_the_timeout(async_client, settings, silent_port):
    # Given: the cache and the broker accept connections but never answer
    settings.HEALTH_CHECK_TIMEOUT = 0.3
    with override_settings(CACHES=redis_cache_at(silent_port), CELERY_BROKER_URL=f"redis://{silent_port}/0"):
        # When
        response = await async_client.get("/health")

    # Then: both are reported as timed out, the others as ok
    body = assert_unavailable(response, {"cache", "broker"})
    assert body["checks"]["cache"]["error"] == "timed out after 0.3 s"
    assert body["checks"]["broker"]["error"] == "timed out after 0.3 s"


@pytest.mark.django_db
def test_a_down_backend_leaves_no_detail_that_names_hosts(client):
    with override_settings(CACHES=redis_cache_at(CLOSED)):
        body = client.get("/health").json()

    assert "127.0.0.1" not in str(body)


# --- methods, limits, auth --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/health/live"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_get_a_405_problem(client, path, method):
    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/health", "/health/live"])
def test_options_lists_the_methods_without_running_checks(client, path):
    # No django_db mark: running the database check would fail the request.
    response = client.options(path)

    assert response.status_code == 200
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.content == b""


@pytest.mark.parametrize("path", ["/health", "/health/live"])
def test_a_cors_preflight_is_answered_by_the_cors_middleware(client, settings, path):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]

    response = client.options(path, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example"


@pytest.mark.django_db
def test_health_is_not_rate_limited_and_needs_no_credentials(client, settings):
    settings.RATE_LIMIT_ENABLED = True

    statuses = {client.get(path).status_code for path in ["/health/live", "/health"] for _ in range(110)}

    assert statuses == {200}


# --- connections --------------------------------------------------------------------------------


@pytest.mark.skipif(not USING_POSTGRES, reason="the connection pool exists only on PostgreSQL")
@pytest.mark.django_db
async def test_readiness_returns_every_pooled_connection(async_client):
    from django.db import connections

    def in_use() -> int:
        stats = connections["default"].pool.get_stats()  # type: ignore[attr-defined]
        return stats["pool_size"] - stats["pool_available"]

    before = await asyncio.to_thread(in_use)

    responses = await asyncio.gather(*(async_client.get("/health") for _ in range(20)))

    assert {response.status_code for response in responses} == {200}
    assert await asyncio.to_thread(in_use) == before


# --- end to end: a real ASGI server whose database is down ------------------------------------------


@pytest.fixture
def server_with_everything_down() -> Iterator[str]:
    env = {
        "DATABASE_URL": f"postgres://postgres@{CLOSED}/unreachable",
        "REDIS_URL": f"redis://{CLOSED}/0",
        "DB_POOL_TIMEOUT": "1",
        "HEALTH_CHECK_TIMEOUT": "1",
    }
    with running_server(env) as base:
        yield base


def test_a_real_server_names_a_down_database(server_with_everything_down):
    with urlopen(server_with_everything_down + "/health/live", timeout=10) as live:  # noqa: S310
        assert live.status == 200

    with pytest.raises(HTTPError) as caught:
        urlopen(server_with_everything_down + "/health", timeout=10)  # noqa: S310

    assert caught.value.code == 503
    assert caught.value.headers["Content-Type"] == "application/problem+json"
    body = json.loads(caught.value.read())
    assert body["code"] == "service_unavailable"
    assert {name for name, result in body["checks"].items() if result["status"] == "error"} == CHECK_NAMES
