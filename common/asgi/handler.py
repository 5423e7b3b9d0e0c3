"""Django's ASGI handler with the sync half of every request on a few long-lived threads.

Django runs each HTTP request inside `ThreadSensitiveContext()`, whose first thread-sensitive call
(every sync view, every DRF view, the ORM from async code) starts a new thread for that request and
a second one to join it at the end: two thread starts per request, and as many threads (and database
connections) as requests in flight. Here each request is pinned instead to the least busy of
ASGI_SYNC_THREADS single-thread executors created once (asgiref's `ThreadSensitiveContext(executor=)`):
the request's sync code still runs on one thread from start to end, as Django requires, threads are
reused, and at most ASGI_SYNC_THREADS database connections are held by the process at once, whatever
the number of open connections (keep it <= DB_POOL_MAX_SIZE).

Requests that share a thread take turns between their sync sections (a section never interleaves
with another: a view, a transaction, a signal handler each run whole).

`caches_per_thread()`: Django keeps its cache objects in an asgiref `Local` bound to the async
context, and a context copied into another thread does not see the values: under ASGI every request
(and every sync section of it) built new cache objects, and a Redis cache a new connection pool, so
a new TCP connection to Redis per request. Per thread (as under WSGI) the objects and their
connections live as long as the thread; the cache backends are safe to share that way (the
loop's tasks never interleave inside a synchronous cache call).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.local import Local
from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.cache import caches
from django.core.handlers.asgi import ASGIHandler

from common.middleware import ResolvedOnceHandlerMixin


class PlatformASGIHandler(ResolvedOnceHandlerMixin, ASGIHandler):
    """Django's ASGI handler, resolving each path once (common.middleware.resolve_request)."""


class PooledThreadsASGIHandler(PlatformASGIHandler):
    def __init__(self, threads: int) -> None:
        super().__init__()
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"django-sync-{index}") for index in range(threads)
        ]
        self._in_flight = [0] * threads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        index = min(range(len(self._executors)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            async with ThreadSensitiveContext(executor=self._executors[index]):
                await self.handle(scope, receive, send)
        finally:
            self._in_flight[index] -= 1


def caches_per_thread() -> None:
    """Keep Django's cache objects (and their connections) per thread instead of per async context."""
    per_thread = Local(thread_critical=True)
    # Django's test signal handler puts a per-context Local back when CACHES changes: check the type.
    if type(caches._connections) is not type(per_thread):  # type: ignore[attr-defined]
        caches._connections = per_thread  # type: ignore[attr-defined]


def get_asgi_application() -> ASGIHandler:
    """`django.core.asgi.get_asgi_application`, with pooled threads unless ASGI_SYNC_THREADS is 0."""
    django.setup(set_prefix=False)
    caches_per_thread()
    threads = int(settings.ASGI_SYNC_THREADS)
    return PooledThreadsASGIHandler(threads) if threads > 0 else PlatformASGIHandler()
