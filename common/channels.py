"""Channel-layer helpers shared by the WebSocket consumers and the SSE stream."""

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

logger = logging.getLogger(__name__)


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
    from channels_redis.pubsub import RedisPubSubChannelLayer

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
