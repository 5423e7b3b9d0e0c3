"""`/ws/notifications`: a user's notifications, live, resumable, with a bounded outgoing queue.

Protocol (JSON text frames; authentication, close codes 4401/4403/4400 come from `auth_app.ws`):

server -> client
    {"type": "ready", "last_seq": N}            once authenticated: the newest seq at this moment
    {"type": "notification", "notification": {...}}   one notification (the REST object, with `seq`)
    {"type": "resumed", "last_seq": N}           the replay asked for with `resume` is complete
    {"type": "read", "ids": [...], "all": bool, "count": n}   read receipts from any tab or the API
    {"type": "event", "event": "file.conversion.progress", "data": {...}}   ephemeral progress (no seq)
    {"type": "ping", "last_seq": N}              every NOTIFICATIONS_WS_PING_SECONDS (the first one after
                                                 0.5-1.5 of that, to spread sockets that connected together)
    {"type": "pong"}                             answer to a client `ping`
    {"type": "error", "code": "...", "detail": "..."}   a message was refused; the socket stays open
client -> server
    {"type": "resume", "after": <seq>}           replay everything after <seq> from the database
    {"type": "read", "id": "<notification id>"}  mark one read
    {"type": "ping"}

Delivery (see `notifications.stream`): every seq is sent at most once, in ascending order. After
`ready` the consumer holds live delivery for NOTIFICATIONS_WS_RESUME_GRACE_SECONDS or until the
client's first message, so that a `resume` sent right after `ready` is answered before anything
newer: the replay `(after, ready]` comes first, then everything newer. A `resume` sent later (after
live messages have flowed) replays only what this socket has not sent, i.e. `(after, ready]`; those
rows then arrive after newer ones, so such a client orders by seq. While a replay runs, live
messages wait in the channel and are deduplicated afterwards.

Each ping re-joins the user's group (the list-based Redis layer expires membership after its
`group_expiry` and a Redis restart forgets it; for the pub/sub layer it is a no-op) and sends
whatever the database holds above the last seq sent, so neither a lost membership nor a dropped last
push (e.g. published while the layer was reconnecting) leaves a gap for longer than one ping interval
(one and a half for the first ping).

Backpressure: outgoing messages go through a queue bounded by NOTIFICATIONS_WS_MAX_PENDING entries
and NOTIFICATIONS_WS_MAX_PENDING_BYTES bytes, drained by one writer task. A message waits up to
NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS for room; if the client has not made room by then it is closed
with 4008 (CLOSE_SLOW_CONSUMER) and reconnects and resumes from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings

from auth_app.ws import AuthenticatedJsonWebsocketConsumer
from common.channels import spread_ticks
from common.errors import NotFound

from . import services
from .outbox import Outbox
from .push import user_group
from .stream import Payload, Position, newest_seq, replay

logger = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 4008
"""The client did not read fast enough: its outgoing queue stayed full. Reconnect and resume."""


@database_sync_to_async
def _mark_read(user: Any, notification_id: Any) -> None:
    services.notification_mark_read(user=user, notification_id=notification_id)


class NotificationConsumer(AuthenticatedJsonWebsocketConsumer):
    outbox: Outbox
    position: Position
    _floor: int = 0  # this socket has sent every seq in (_floor, position.last]
    _holding: bool = False  # live delivery waits for the client's resume (or the grace period)
    _lock: asyncio.Lock
    _writer: asyncio.Task[None] | None = None
    _pinger: asyncio.Task[None] | None = None
    _releaser: asyncio.Task[None] | None = None
    _closer: asyncio.Task[None] | None = None  # the 4008 close, which may wait for the client to read
    _group: str | None = None

    # --- life cycle -------------------------------------------------------------------------------

    async def on_authenticated(self) -> None:
        user_id = self.scope["user"].pk
        self._lock = asyncio.Lock()
        self.outbox = Outbox(
            int(settings.NOTIFICATIONS_WS_MAX_PENDING), int(settings.NOTIFICATIONS_WS_MAX_PENDING_BYTES)
        )
        self._writer = asyncio.create_task(self._write_loop())
        # Position first, then join: what commits in between is caught up when live delivery starts.
        head = await newest_seq(user_id)
        self.position = Position(user_id, head)
        self._floor = head
        self._group = user_group(user_id)
        await self.channel_layer.group_add(self._group, self.channel_name)
        grace = float(settings.NOTIFICATIONS_WS_RESUME_GRACE_SECONDS)
        self._holding = grace > 0
        if not await self._send({"type": "ready", "last_seq": head}):
            return
        if self._holding:
            self._releaser = asyncio.create_task(self._release_after(grace))
        else:
            await self._send_notifications(self.position.catch_up())
        self._pinger = asyncio.create_task(self._ping_loop())

    async def disconnect(self, code: int) -> None:
        await self._stop_tasks()
        if self._group is not None:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(self._group, self.channel_name)
            self._group = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its `aclose_old_connections()` before every message.

        That call runs on the one thread-sensitive thread, so with thousands of sockets every push
        would queue behind it. This consumer never uses a connection of that thread: its reads go
        through `stream.read_only` and its one write through `database_sync_to_async`, each of which
        closes its own connection.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- client messages ------------------------------------------------------------------------

    async def on_message(self, content: dict[str, Any]) -> None:
        kind = content.get("type")
        if kind == "resume":
            after = content.get("after")
            if isinstance(after, bool) or not isinstance(after, int) or after < 0:
                await self._release()
                await self._error("invalid_resume", "`after` must be a whole number >= 0 (a seq).")
                return
            async with self._lock:
                await self._resume(after)
            return
        await self._release()  # any other first message means the client is not going to resume
        if kind == "read":
            try:
                await _mark_read(self.scope["user"], content.get("id"))
            except NotFound:
                await self._error("notification_not_found", "No notification with this id exists for you.")
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind != "pong":
            await self._error("unknown_type", "Send `resume`, `read` or `ping`.")

    async def _resume(self, after: int) -> None:
        """Replay `(after, _floor]`, below everything this socket has sent; then release live delivery."""
        head = await newest_seq(self.position.user_id)
        after = min(after, head)  # a position beyond the newest seq counts as "now"
        if after < self._floor:
            async for payload in replay(self.position.user_id, after, self._floor):
                if not await self._send({"type": "notification", "notification": payload}):
                    return
            self._floor = after
        elif after > self.position.last:  # the client already has these (another tab, a previous socket)
            self.position.last = self._floor = after
        if self._holding:
            self._holding = False
            if not await self._send_notifications(self.position.catch_up(head)):
                return
        await self._send({"type": "resumed", "last_seq": self.position.last})

    async def _release_after(self, grace: float) -> None:
        await asyncio.sleep(grace)
        try:
            await self._release()
        except Exception:  # the database is unreachable: the next ping catches up
            self._holding = False
            logger.warning("notifications: starting live delivery on %s failed", self.channel_name, exc_info=True)

    async def _release(self) -> None:
        """Start live delivery (once): send what committed since `ready`, then forward pushes."""
        if not self._holding:
            return
        async with self._lock:
            if self._holding:
                self._holding = False
                await self._send_notifications(self.position.catch_up())

    # --- channel-layer messages (from services.push) ----------------------------------------------

    async def notification_message(self, event: dict[str, Any]) -> None:
        if self._holding:
            return  # committed already: the release catches it up from the database, in order
        async with self._lock:
            await self._send_notifications(self.position.live(event["notification"]))

    async def notification_read(self, event: dict[str, Any]) -> None:
        await self._send({"type": "read", "ids": event["ids"], "all": event["all"], "count": event["count"]})

    async def notification_event(self, event: dict[str, Any]) -> None:
        """An ephemeral event (not stored, no seq, never replayed): no ordering to keep, sent at once."""
        await self._send({"type": "event", "event": event["event"], "data": event["data"]})

    # --- outgoing queue -------------------------------------------------------------------------

    async def _send_notifications(self, payloads: AsyncIterator[Payload]) -> bool:
        async for payload in payloads:
            if not await self._send({"type": "notification", "notification": payload}):
                return False
            self.position.sent(payload)
        return True

    async def _send(self, message: dict[str, Any]) -> bool:
        """Queue a message, waiting for room, but not for ever: a client that stays full is closed."""
        if self._closing or self._writer is None or self._writer.done():
            return False
        if await self.outbox.put(message, timeout=float(settings.NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS)):
            return True
        await self._close_slow()
        return False

    async def _error(self, code: str, detail: str) -> None:
        await self._send({"type": "error", "code": code, "detail": detail})

    async def transmit(self, message: dict[str, Any], text: str) -> None:
        """Send one encoded message to the client (the writer task's only call; tests override it)."""
        await self.send(text_data=text)

    async def _write_loop(self) -> None:
        try:
            while True:
                message, text = await self.outbox.get()
                await self.transmit(message, text)
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is gone; the disconnect message will clean up
            logger.debug("notifications: websocket writer stopped", exc_info=True)

    async def _ping_loop(self) -> None:
        async for _ in spread_ticks(float(settings.NOTIFICATIONS_WS_PING_SECONDS), lambda: not self._closing):
            try:
                async with self._lock:
                    await self._tick()
            except Exception:  # Redis or the database hiccuped; try again at the next ping
                logger.warning("notifications: ping on %s failed", self.channel_name, exc_info=True)

    async def _tick(self) -> None:
        """Re-join the group, fill any gap from the database, then ping with the newest seq sent."""
        if self._group is not None:
            try:
                await self.channel_layer.group_add(self._group, self.channel_name)
            except Exception:  # the layer is down; the database catch-up below still runs
                logger.warning("notifications: re-joining %s failed", self._group, exc_info=True)
        if not self._holding and not await self._send_notifications(self.position.catch_up()):
            return
        if not self._closing:
            await self.outbox.offer({"type": "ping", "last_seq": self.position.last})  # skipped when full

    async def _close_slow(self) -> None:
        if self._closing or self._closer is not None:  # the first caller owns the close
            return
        self._closer = asyncio.create_task(self.close_with(CLOSE_SLOW_CONSUMER))
        logger.info(
            "notifications: closing slow consumer %s (%d messages, %d bytes pending)",
            self.channel_name,
            self.outbox.qsize(),
            self.outbox.pending_bytes,
        )
        await self._stop_tasks(keep_closer=True)
        # The server writes the close frame after what the client has not read yet. Stop waiting for it
        # after the timeout, but do not cancel it: cancelled, the frame was never written and a client
        # that read again later kept an open socket that nothing was ever sent on again.
        try:
            await asyncio.wait_for(
                asyncio.shield(self._closer), timeout=float(settings.NOTIFICATIONS_WS_CLOSE_TIMEOUT_SECONDS)
            )
        except TimeoutError:
            logger.warning("notifications: closing %s timed out; the close waits for the client", self.channel_name)

    async def _stop_tasks(self, *, keep_closer: bool = False) -> None:
        """Cancel and await the socket's tasks; the pending 4008 close too, unless `keep_closer` (only
        the disconnect, when the connection is gone anyway, cancels it)."""
        current = asyncio.current_task()
        owned = (self._writer, self._pinger, self._releaser, None if keep_closer else self._closer)
        tasks = [task for task in owned if task is not None and task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._pinger is current:
            self._pinger = None
