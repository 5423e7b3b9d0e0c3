"""The ASGI handler (common.asgi): pooled threads for the sync half of requests, caches per thread."""

import asyncio
import contextvars
import threading

import pytest
from django.core.cache import caches
from django.core.signals import request_finished

from common.asgi import PooledThreadsASGIHandler, caches_per_thread

from .asgi_support import asgi_get

pytestmark = pytest.mark.urls("common.tests.urls")


def test_a_cache_object_is_reused_across_requests_once_per_thread():
    """Per async context, every request (a context of its own) built a new cache: a new Redis connection pool."""
    caches_per_thread()

    def in_a_fresh_context():
        return contextvars.Context().run(lambda: caches["default"])

    assert in_a_fresh_context() is in_a_fresh_context()


async def _get(app, path):
    return (await asgi_get(app, path))[0]


@pytest.mark.django_db(transaction=True)
async def test_requests_run_their_sync_code_on_a_few_reused_threads():
    """Each request's sync work (here the sync view and the request_finished receivers) runs on a pooled thread."""
    handler = PooledThreadsASGIHandler(2)
    threads: list[str] = []

    def record(**kwargs):
        threads.append(threading.current_thread().name)

    request_finished.connect(record, dispatch_uid="test_asgi.record")
    try:
        statuses = await asyncio.gather(*(_get(handler, "/api/v1/test/django-get-only") for _ in range(6)))
    finally:
        request_finished.disconnect(dispatch_uid="test_asgi.record")
    assert statuses == [200] * 6
    assert len(threads) == 6
    assert {name.rsplit("_", 1)[0] for name in threads} <= {"django-sync-0", "django-sync-1"}
    assert handler._in_flight == [0, 0]


async def test_only_http_is_served():
    with pytest.raises(ValueError, match="HTTP"):
        await PooledThreadsASGIHandler(1)({"type": "websocket"}, None, None)
