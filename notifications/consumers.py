"""`/ws/notifications`: a user's notifications, live, resumable, with a bounded outgoing queue.

Protocol (JSON text frames; authentication, close codes 4401/4403/4400 come from `auth_app.ws`):

server -> client
    {"type": "ready", "last_seq": N}            once authenticated: the newest seq at this moment
    {"type": "notification", "notification": {...}}   one notification (the REST object, with `seq`)
    {"type": "resumed", "last_seq": N}           the replay asked for with `resume` is complete
    {"type": "read", "ids": [...], "all": bool, "count": n}   read receipts from any tab or the API
    {"type": "ping"}                             every NOTIFICATIONS_WS_PING_SECONDS; no answer needed
    {"type": "pong"}                             answer to a client `ping`
    {"type": "error", "code": "...", "detail": "..."}   a message was refused; the socket stays open
client -> server
    {"type": "resume", "after": <seq>}           replay everything after <seq> from the database
    {"type": "read", "id": "<notification id>"}  mark one read
    {"type": "ping"}

Delivery: live messages come from the user's group `notifications.user.<id>`. The consumer remembers
the last seq it sent; a live message at or below it is a duplicate and skipped, one that jumps ahead
(the layer dropped a push) is preceded by the missing rows read from the database. A resume runs inside
the consumer's message loop, so live messages that arrive meanwhile wait in the channel and are then
deduplicated by seq: no gap, no duplicate.

Backpressure: outgoing messages go through a queue of NOTIFICATIONS_WS_MAX_PENDING entries drained by
one writer task. When a live message finds it full (the client is not reading), or a replay cannot
queue for NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS, the socket is closed with 4008 (CLOSE_SLOW_CONSUMER);
the client reconnects and resumes from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from auth_app.ws import AuthenticatedJsonWebsocketConsumer
from common.errors import NotFound

from . import selectors, services
from .push import user_group
from .sse import replay

logger = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 4008
"""The client did not read fast enough: its outgoing queue filled. Reconnect and resume."""


@database_sync_to_async
def _last_seq(user_id: Any) -> int:
    return selectors.notification_last_seq(user_id=user_id)


@database_sync_to_async
def _mark_read(user: Any, notification_id: Any) -> None:
    services.notification_mark_read(user=user, notification_id=notification_id)


class NotificationConsumer(AuthenticatedJsonWebsocketConsumer):
    outbox: asyncio.Queue[dict[str, Any]]
    last_seq: int = 0
    _writer: asyncio.Task[None] | None = None
    _pinger: asyncio.Task[None] | None = None
    _group: str | None = None

    # --- life cycle -------------------------------------------------------------------------------

    async def on_authenticated(self) -> None:
        user_id = self.scope["user"].pk
        self.outbox = asyncio.Queue(maxsize=int(settings.NOTIFICATIONS_WS_MAX_PENDING))
        self._writer = asyncio.create_task(self._write_loop())
        # Position first, then join, then read what committed in between: nothing falls in the gap.
        self.last_seq = await _last_seq(user_id)
        self._group = user_group(user_id)
        await self.channel_layer.group_add(self._group, self.channel_name)
        ready_at = self.last_seq
        missed = [payload async for payload in replay(user_id, ready_at)]  # usually none
        await self._offer({"type": "ready", "last_seq": ready_at})
        for payload in missed:
            if not await self._offer({"type": "notification", "notification": payload}):
                return
            self.last_seq = int(payload["seq"])
        self._pinger = asyncio.create_task(self._ping_loop())

    async def disconnect(self, code: int) -> None:
        await self._stop_tasks()
        if self._group is not None:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(self._group, self.channel_name)
            self._group = None

    # --- client messages ------------------------------------------------------------------------

    async def on_message(self, content: dict[str, Any]) -> None:
        kind = content.get("type")
        if kind == "resume":
            after = content.get("after")
            if isinstance(after, bool) or not isinstance(after, int) or after < 0:
                await self._error("invalid_resume", "`after` must be a whole number >= 0 (a seq).")
                return
            await self._resume(after)
        elif kind == "read":
            try:
                await _mark_read(self.scope["user"], content.get("id"))
            except NotFound:
                await self._error("notification_not_found", "No notification with this id exists for you.")
        elif kind == "ping":
            await self._offer({"type": "pong"})
        elif kind != "pong":
            await self._error("unknown_type", "Send `resume`, `read` or `ping`.")

    async def _resume(self, after: int) -> None:
        user_id = self.scope["user"].pk
        # A position beyond the newest seq (e.g. a client remembering another database) counts as "now".
        self.last_seq = min(after, await _last_seq(user_id))
        async for payload in replay(user_id, self.last_seq):
            if not await self._put_waiting({"type": "notification", "notification": payload}):
                return
            self.last_seq = int(payload["seq"])
        await self._put_waiting({"type": "resumed", "last_seq": self.last_seq})

    # --- channel-layer messages (from services.push) ----------------------------------------------

    async def notification_message(self, event: dict[str, Any]) -> None:
        payload = event["notification"]
        seq = int(payload["seq"])
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            async for missed in replay(self.scope["user"].pk, self.last_seq, seq - 1):
                if not await self._offer({"type": "notification", "notification": missed}):
                    return
                self.last_seq = int(missed["seq"])
        if await self._offer({"type": "notification", "notification": payload}):
            self.last_seq = seq

    async def notification_read(self, event: dict[str, Any]) -> None:
        await self._offer({"type": "read", "ids": event["ids"], "all": event["all"], "count": event["count"]})

    # --- outgoing queue -------------------------------------------------------------------------

    async def _offer(self, message: dict[str, Any]) -> bool:
        """Queue a message without waiting; a full queue means a slow consumer, which is closed."""
        if self._closing or not hasattr(self, "outbox"):
            return False
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            await self._close_slow()
            return False
        return True

    async def _put_waiting(self, message: dict[str, Any]) -> bool:
        """Queue a replayed message, waiting for room, but not for ever."""
        if self._closing or self._writer is None or self._writer.done():
            return False
        try:
            await asyncio.wait_for(self.outbox.put(message), timeout=settings.NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            await self._close_slow()
            return False
        return True

    async def _error(self, code: str, detail: str) -> None:
        await self._offer({"type": "error", "code": code, "detail": detail})

    async def transmit(self, message: dict[str, Any]) -> None:
        """Send one message to the client (the writer task's only call; tests override it)."""
        await self.send_json(message)

    async def _write_loop(self) -> None:
        try:
            while True:
                message = await self.outbox.get()
                await self.transmit(message)
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is gone; the disconnect message will clean up
            logger.debug("notifications: websocket writer stopped", exc_info=True)

    async def _ping_loop(self) -> None:
        interval = float(settings.NOTIFICATIONS_WS_PING_SECONDS)
        while not self._closing:
            await asyncio.sleep(interval)
            await self._offer({"type": "ping"})

    async def _close_slow(self) -> None:
        if self._closing:
            return
        logger.info(
            "notifications: closing slow consumer %s (%d messages pending)", self.channel_name, self.outbox.qsize()
        )
        await self._stop_tasks()
        await self.close_with(CLOSE_SLOW_CONSUMER)

    async def _stop_tasks(self) -> None:
        current = asyncio.current_task()
        tasks = [task for task in (self._writer, self._pinger) if task is not None and task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._pinger is current:
            self._pinger = None
