"""Django's ASGI handler with the sync half of every request on a few long-lived threads, and the
bodies of REQUEST_BODY_STREAMED routes handed to the view as they arrive (streaming.py).

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

A request whose body is streamed (a POST/PUT/PATCH with a body to a REQUEST_BODY_STREAMED route)
runs on a thread of its own instead (Django's `ThreadSensitiveContext()`, joined when the request
ends): its view blocks on the network for as long as the client takes to send the body, and must not
hold up the requests pinned to a pooled thread. At most ASGI_STREAMED_BODY_THREADS of them run at
once per process; the next waits for a slot without reading its body (back-pressure on its client),
for at most ASGI_STREAMED_BODY_SLOT_WAIT_SECONDS, then is answered 503 with Retry-After.
A process therefore holds at most ASGI_SYNC_THREADS + ASGI_STREAMED_BODY_THREADS database connections.

`caches_per_thread()`: Django keeps its cache objects in an asgiref `Local` bound to the async
context, and a context copied into another thread does not see the values: under ASGI every request
(and every sync section of it) built new cache objects, and a Redis cache a new connection pool, so
a new TCP connection to Redis per request. Per thread (as under WSGI) the objects and their
connections live as long as the thread; the cache backends are safe to share that way (the
loop's tasks never interleave inside a synchronous cache call).
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.local import Local
from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.cache import caches
from django.core.handlers.asgi import ASGIHandler

from common.middleware import ResolvedOnceHandlerMixin

from .guard import send_problem
from .limits import body_headers, body_limit_for, body_streamed_for
from .streaming import AfterBodyReceive, StreamedBody

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _streams_body(scope: Any) -> bool:
    """A request with a body (declared non-empty, or unframed) to a REQUEST_BODY_STREAMED route."""
    if scope["method"] not in _BODY_METHODS or not body_streamed_for(scope["path"]):
        return False
    length, unframed, _origin = body_headers(scope)
    return unframed or (length is not None and length.strip() not in (b"", b"0"))


class StreamingBodyASGIHandler(ResolvedOnceHandlerMixin, ASGIHandler):
    """Django's ASGI handler, with the bodies of streamed routes read while the view reads them, and
    each path resolved once (common.middleware.resolve_request)."""

    def __init__(self) -> None:
        super().__init__()
        # One per event loop (a test suite runs several); production has one.
        self._streamed_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        if not _streams_body(scope):
            await self.run_request(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        slots = self._streamed_slots.get(loop)
        if slots is None:
            slots = self._streamed_slots[loop] = asyncio.Semaphore(int(settings.ASGI_STREAMED_BODY_THREADS))
        try:
            await asyncio.wait_for(slots.acquire(), float(settings.ASGI_STREAMED_BODY_SLOT_WAIT_SECONDS))
        except TimeoutError:
            await send_problem(
                scope,
                send,
                status=503,
                code="service_unavailable",
                detail="Every upload slot of this server is busy; retry after the time given in Retry-After.",
                close=True,  # its body was never read
                retry_after=int(settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS),
            )
            return
        try:
            async with ThreadSensitiveContext():
                await self._handle_streamed(scope, receive, send)
        finally:
            slots.release()

    async def run_request(self, scope: Any, receive: Any, send: Any) -> None:
        """Django's own: the request's sync code on a new thread."""
        async with ThreadSensitiveContext():
            await self.handle(scope, receive, send)

    async def _handle_streamed(self, scope: Any, receive: Any, send: Any) -> None:
        body = StreamedBody(
            receive,
            limit=body_limit_for(scope["path"]),
            buffer_bytes=int(settings.ASGI_STREAMED_BODY_BUFFER_BYTES),
            idle_timeout=float(settings.REQUEST_BODY_IDLE_TIMEOUT_SECONDS),
        )
        try:
            # Django's `handle` as it is; `read_body` below returns `body` for this `receive`.
            await self.handle(scope, AfterBodyReceive(body), body.send_through(send))
        finally:
            body.stop()
            await body.stopped()

    async def read_body(self, receive: Any) -> Any:
        if isinstance(receive, AfterBodyReceive):
            return receive.body
        return await super().read_body(receive)


class PooledThreadsASGIHandler(StreamingBodyASGIHandler):
    def __init__(self, threads: int) -> None:
        super().__init__()
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"django-sync-{index}") for index in range(threads)
        ]
        self._in_flight = [0] * threads

    async def run_request(self, scope: Any, receive: Any, send: Any) -> None:
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
    """`django.core.asgi.get_asgi_application`, with pooled threads unless ASGI_SYNC_THREADS is 0
    (streamed bodies either way)."""
    django.setup(set_prefix=False)
    caches_per_thread()
    threads = int(settings.ASGI_SYNC_THREADS)
    return PooledThreadsASGIHandler(threads) if threads > 0 else StreamingBodyASGIHandler()
