"""Channel-layer helpers: publishing after commit (every app), and receiving for consumers and SSE streams.

Live delivery is best effort (the layer may drop messages for a full channel, Redis may be down);
the database is the record and clients catch up from it. So a failed publish is logged, never raised
into a caller whose transaction has already committed.
"""

import asyncio
import logging
import os
import random
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# (group, message): one channel-layer group send.
Outgoing = tuple[str, dict[str, Any]]


def group_send_after_commit(outgoing: Sequence[Outgoing]) -> None:
    """Send `(group, message)` pairs once the current transaction commits (at once outside one)."""
    if not outgoing:
        return
    batch = list(outgoing)
    transaction.on_commit(lambda: group_send_now(batch))


def group_send_now(outgoing: Iterable[Outgoing]) -> None:
    """Send to the groups from sync code (request threads, Celery tasks, management commands); never raises."""
    layer = get_channel_layer()
    batch = list(outgoing)
    if layer is None or not batch:
        return
    try:
        if isinstance(layer, RedisChannelLayer | RedisPubSubChannelLayer):
            concurrency = max(1, int(settings.CHANNEL_PUSH_CONCURRENCY))
            rounds = -(-len(batch) // concurrency)
            timeout = float(settings.CHANNEL_PUSH_TIMEOUT_SECONDS) * rounds + 1
            _publisher.run(group_send_bounded(layer, batch), timeout=timeout)
        else:  # the in-memory layer: its queues belong to the server's event loop
            async_to_sync(group_send_bounded)(layer, batch)
    except Exception:  # a lost push is recovered from the database; never fail the caller
        logger.warning("channel layer: publishing %d message(s) failed", len(batch), exc_info=True)


class _PublisherLoop:
    """One event loop on its own thread per process, for Redis channel-layer sends from sync code.

    `async_to_sync` from a thread that no ASGI server lent (WSGI workers, Celery tasks, commands)
    starts a new event loop in a new thread for every call, and the Redis layers then open a new
    connection for that loop: ~40 % of a notification POST under WSGI (issue 8). Here the loop, and
    so the layer's connection, lives as long as the process. The Redis layers keep their connections
    per event loop, so sharing the layer with the server's own loop is safe. Re-created after a fork
    (Celery's prefork pool): a child inherits the object but not the thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def run(self, coroutine: Coroutine[Any, Any, None], *, timeout: float) -> None:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        try:
            future.result(timeout=timeout)
        except BaseException:
            future.cancel()
            raise

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="channel-layer-publisher", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_publisher = _PublisherLoop()


async def group_send_bounded(layer: BaseChannelLayer, batch: list[Outgoing]) -> None:
    """Send every pair, at most CHANNEL_PUSH_CONCURRENCY at a time, each within CHANNEL_PUSH_TIMEOUT_SECONDS.

    Unbounded, a 500-user broadcast batch asks the layer's Redis pool for 500 connections at once
    and the sends beyond its `max_connections` fail; bounded, they wait for a free connection.
    Failures are logged, not raised.
    """
    limit = asyncio.Semaphore(max(1, int(settings.CHANNEL_PUSH_CONCURRENCY)))
    deadline = float(settings.CHANNEL_PUSH_TIMEOUT_SECONDS)

    async def send(group: str, message: dict[str, Any]) -> None:
        async with limit:
            await asyncio.wait_for(layer.group_send(group, message), timeout=deadline)

    results = await asyncio.gather(*(send(group, message) for group, message in batch), return_exceptions=True)
    failed = [result for result in results if isinstance(result, BaseException)]
    if failed:
        logger.warning("channel layer: %d of %d group sends failed", len(failed), len(batch), exc_info=failed[0])


async def cancel_until_done(task: "asyncio.Future[Any]", attempts: int = 20) -> bool:
    """Cancel `task` and wait until it has really finished; True when it did.

    With channels_redis a cancellation can be absorbed by the Redis client while it sits in its
    blocking pop; the receive would then live on until a message came (a leaked task per closed
    socket, and an event loop that never closes). So the cancellation is repeated, briefly.
    """
    for _ in range(attempts):
        task.cancel()
        done, _pending = await asyncio.wait({task}, timeout=0.05)
        if done:
            if not task.cancelled():
                task.exception()  # retrieve it, so asyncio does not log it as never retrieved
            return True
    logger.warning("a channel-layer receive did not stop after %d cancellations", attempts)
    return False


async def layer_receive(layer: Any, channel: str) -> dict[str, Any]:
    """`layer.receive(channel)`, stopped for certain when the caller is cancelled."""
    inner = asyncio.ensure_future(layer.receive(channel))
    try:
        message: dict[str, Any] = await asyncio.shield(inner)
        return message
    except asyncio.CancelledError:
        await cancel_until_done(inner)
        raise


async def channel_release(layer: Any, channel: str) -> None:
    """Forget a channel made with `new_channel` once its owner is done (a consumer, a stream, a probe).

    The layers have no `delete_channel`. The Redis pub/sub layer keeps each channel's queue and its
    SUBSCRIBE until a receive *waiting* on it is cancelled, which misses a channel whose receive
    already holds a message at shutdown, or whose subscribe failed: those stayed for the life of
    the process. So the queue is dropped and the subscription ended here, directly. (This reaches
    into the layers' attributes; tests assert that nothing is left, so an upgrade that renames them
    fails there.) The in-memory and list-based layers only keep a buffer.
    """
    if isinstance(layer, RedisPubSubChannelLayer):
        loop_layer = layer._get_layer()
        loop_layer.channels.pop(channel, None)
        try:
            await loop_layer._get_shard(channel).unsubscribe(channel)
        except Exception:  # Redis is unreachable: the reconnect re-subscribes only known channels
            logger.warning("channel layer: unsubscribing %s failed", channel, exc_info=True)
        return
    for attribute in ("channels", "receive_buffer"):  # in-memory layer; list-based Redis layer
        buffers = getattr(layer, attribute, None)
        if isinstance(buffers, dict):
            buffers.pop(channel, None)


async def spread_ticks(interval: float, keep_going: Callable[[], bool]) -> AsyncIterator[None]:
    """Yield every `interval` seconds while `keep_going()`; the first tick after 0.5-1.5 intervals.

    For per-socket timers (pings, credential re-checks): sockets that connected together (a server
    restart, a deploy) would otherwise all fire, and hit Redis and the database, in the same instant.
    """
    delay = interval * random.uniform(0.5, 1.5)  # noqa: S311 - spreading load, not a secret
    while keep_going():
        await asyncio.sleep(delay)
        delay = interval
        yield
