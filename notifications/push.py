"""Publishing to the channel layer: one group per user, messages built after the row has committed.

Live delivery is best effort (the layer may drop messages for a full channel, Redis may be down); the
database is the record, and WebSocket/SSE clients fill any gap from it by `seq`. So a failure to
publish is logged, never raised into the caller whose transaction has already committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

GROUP_PREFIX = "notifications.user."
# Channel-layer message types, dispatched to the consumer's / SSE stream's handlers.
NOTIFICATION_MESSAGE = "notification.message"
READ_MESSAGE = "notification.read"

Outgoing = tuple[str, dict[str, Any]]


def user_group(user_id: object) -> str:
    """The channel-layer group of one user's connections (every process, every tab)."""
    return f"{GROUP_PREFIX}{user_id}"


def notification_message(payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": NOTIFICATION_MESSAGE, "notification": payload}


def read_message(*, ids: Sequence[str] | None = None, all_read: bool = False, count: int = 0) -> dict[str, Any]:
    return {"type": READ_MESSAGE, "ids": list(ids or []), "all": all_read, "count": count}


def publish_on_commit(outgoing: Sequence[Outgoing]) -> None:
    """Publish `(group, message)` pairs once the current transaction commits (at once outside one)."""
    if not outgoing:
        return
    batch = list(outgoing)
    transaction.on_commit(lambda: publish_now(batch))


def publish_now(outgoing: Iterable[Outgoing]) -> None:
    """Send to the groups from sync code (request threads, Celery tasks, management commands)."""
    layer = get_channel_layer()
    batch = list(outgoing)
    if layer is None or not batch:
        return
    try:
        async_to_sync(_send_all)(layer, batch)
    except Exception:  # a lost push is recovered from the database; never fail the caller
        logger.warning("notifications: publishing %d message(s) failed", len(batch), exc_info=True)


async def _send_all(layer: BaseChannelLayer, batch: list[Outgoing]) -> None:
    """Send every pair, at most NOTIFICATIONS_PUSH_CONCURRENCY at a time, each within the push deadline.

    Unbounded, a 500-user broadcast batch asks the layer's Redis pool for 500 connections at once
    and the sends beyond its `max_connections` fail; bounded, they wait for a free connection.
    """
    limit = asyncio.Semaphore(max(1, int(settings.NOTIFICATIONS_PUSH_CONCURRENCY)))
    deadline = float(settings.NOTIFICATIONS_PUSH_TIMEOUT_SECONDS)

    async def send(group: str, message: dict[str, Any]) -> None:
        async with limit:
            await asyncio.wait_for(layer.group_send(group, message), timeout=deadline)

    results = await asyncio.gather(*(send(group, message) for group, message in batch), return_exceptions=True)
    failed = [result for result in results if isinstance(result, BaseException)]
    if failed:
        logger.warning("notifications: %d of %d group sends failed", len(failed), len(batch), exc_info=failed[0])
