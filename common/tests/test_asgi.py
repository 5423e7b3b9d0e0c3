"""The ASGI handler (common.asgi): pooled threads for the sync half of requests, caches per thread."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.cache import caches
from django.core.signals import request_finished

from common.asgi import PooledThreadsASGIHandler, caches_per_thread

pytestmark = pytest.mark.urls("common.tests.urls")


async def test_a_cache_object_is_reused_across_sync_sections_once_per_thread():
    """Per async context, every sync section built a new cache (a new Redis connection pool)."""
    caches_per_thread()

    def cache_id():
        return id(caches["default"])

    first = await sync_to_async(cache_id, thread_sensitive=True)()
    second = await sync_to_async(cache_id, thread_sensitive=True)()
    assert first == second


async def _get(app, path):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=10)
    while (await communicator.receive_output(timeout=10)).get("more_body"):
        pass
    await communicator.wait(timeout=10)
    return start["status"]


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
