"""Channel-layer helpers shared by the WebSocket consumers and the SSE stream."""

import asyncio
import logging
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
