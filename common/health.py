"""Liveness and readiness endpoints for load balancers, orchestrators and `make run`'s smoke test.

`/health/live` says the process answers and touches nothing else. `/health` checks the database,
the cache, the channel layer and the Celery broker concurrently, each bounded by
HEALTH_CHECK_TIMEOUT seconds, and answers 200 when all are up or a 503 problem document whose
`checks` object names what is down. Neither is rate limited or authenticated (both live outside
`/api/`).

Blocking checks (database, cache, non-Redis brokers) run on a small executor of their own rather
than through `sync_to_async`: asgiref waits for the thread to finish when the awaiting task is
cancelled, so a hung backend would hold the response past the timeout; a plain executor future
can be abandoned. The executor also keeps a hung backend from starving the event loop's default
executor, which asyncio uses for DNS look-ups. Each database check hands its connection back
(to the psycopg pool in services mode) before the thread is reused, so checks never leak one.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from .channels import channel_release
from .errors import problem_response

logger = logging.getLogger(__name__)

CheckResult = dict[str, Any]
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# Four threads serve every blocking check of the process; a queued check whose request gave up is
# skipped, not run.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


class CheckFailed(Exception):
    """A backend answered, but not what the check expected."""


def _timeout() -> float:
    return float(settings.HEALTH_CHECK_TIMEOUT)


async def _in_thread(func: Callable[[], None]) -> None:
    await asyncio.get_running_loop().run_in_executor(_executor, func)


# --- the checks: each returns extra fields for its entry or raises ------------------------------


def _select_one() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
    finally:
        connection.close()
    if row is None or row[0] != 1:
        raise CheckFailed("SELECT 1 returned an unexpected row")


async def check_database() -> CheckResult:
    await _in_thread(_select_one)
    return {}


def _cache_round_trip() -> None:
    cache = caches["default"]
    key = f"health:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, timeout=max(1, round(_timeout() * 5)))
    try:
        if cache.get(key) != value:
            raise CheckFailed("the cache did not return the value just stored")
    finally:
        cache.delete(key)


async def check_cache() -> CheckResult:
    await _in_thread(_cache_round_trip)
    return {}


async def check_channel_layer() -> CheckResult:
    layer = get_channel_layer()
    if layer is None:
        raise CheckFailed("no channel layer is configured")
    # Created first: the pub/sub layer drops messages for a channel nobody has subscribed to yet.
    channel = ""
    try:
        channel = await layer.new_channel()
        nonce = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "nonce": nonce})
        message = await layer.receive(channel)
    finally:
        if channel:
            await channel_release(layer, channel)
    if message.get("nonce") != nonce:
        raise CheckFailed("the channel layer returned another message")
    return {}


async def _ping_redis(url: str) -> None:
    from redis.asyncio import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = Redis.from_url(
        url, socket_connect_timeout=_timeout(), socket_timeout=_timeout(), retry=Retry(NoBackoff(), 0)
    )
    try:
        if not await client.ping():
            raise CheckFailed("the broker did not answer PING")
    finally:
        await client.aclose()


def _connect_kombu(url: str) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=_timeout()) as connection:
        connection.ensure_connection(max_retries=1, timeout=max(1, round(_timeout())))


async def check_broker() -> CheckResult:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith("memory://"):
        # Embedded mode: tasks run inside this process, so there is no broker to reach.
        return {"mode": "embedded"}
    if url.startswith(_REDIS_SCHEMES):
        await _ping_redis(url)
    else:
        await _in_thread(lambda: _connect_kombu(url))
    return {}


CHECKS: dict[str, Callable[[], Awaitable[CheckResult]]] = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


# --- running them -----------------------------------------------------------------------------


async def _run_check(name: str, check: Callable[[], Awaitable[CheckResult]], timeout: float) -> CheckResult:
    started = time.perf_counter()
    try:
        extra = await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        logger.warning("health check %s timed out after %s s", name, timeout)
        result: CheckResult = {"status": "error", "error": f"timed out after {timeout:g} s"}
    except Exception as exc:
        # Only the exception's type leaves the process: its message may name hosts or users.
        logger.warning("health check %s failed", name, exc_info=True)
        result = {"status": "error", "error": type(exc).__name__}
    else:
        result = {"status": "ok", **extra}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


async def run_checks() -> dict[str, CheckResult]:
    """Run every readiness check concurrently; each entry says ok or error, with its latency."""
    timeout = _timeout()
    results = await asyncio.gather(*(_run_check(name, check, timeout) for name, check in CHECKS.items()))
    return dict(zip(CHECKS, results, strict=True))


# --- views ------------------------------------------------------------------------------------


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _answer_without_checks(request: HttpRequest) -> HttpResponse | None:
    """OPTIONS lists the methods and other methods get a 405 problem; GET and HEAD go on (None).

    CORS preflights never get here: the CORS middleware answers them first.
    """
    allow = {"Allow": ", ".join(ALLOWED_METHODS)}
    if request.method == "OPTIONS":
        response = HttpResponse(status=200)
        response["Allow"] = allow["Allow"]
        return _no_store(response)
    if request.method not in ALLOWED_METHODS:
        detail = f'Method "{request.method}" not allowed.'
        return _no_store(problem_response(status=405, code="method_not_allowed", detail=detail, headers=allow))
    return None


async def live(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches no database, cache, channel layer or broker."""
    if (early := _answer_without_checks(request)) is not None:
        return early
    return _no_store(JsonResponse({"status": "ok"}))


async def ready(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when every backend answers, else a 503 problem naming the ones that do not."""
    if (early := _answer_without_checks(request)) is not None:
        return early
    checks = await run_checks()
    down = [name for name, result in checks.items() if result["status"] != "ok"]
    if not down:
        return _no_store(JsonResponse({"status": "ok", "checks": checks}))
    return _no_store(
        problem_response(
            status=503,
            code="service_unavailable",
            detail=f"Not ready: {', '.join(down)} unavailable.",
            extra={"checks": checks},
        )
    )
