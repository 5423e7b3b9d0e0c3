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


async def channel_close(layer: Any, channel: str) -> None:
    """Release a channel made with `new_channel` that no consumer owns (e.g. a one-off probe).

    The layers have no `delete_channel`; the Redis pub/sub layer unsubscribes a channel when a
    receive on it is cancelled (which is how a consumer's channel goes away), so do just that.
    The other layers have nothing to release and ignore it.
    """
    receive = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)  # let the receive start waiting, so that the cancellation reaches it
    await cancel_until_done(receive)
