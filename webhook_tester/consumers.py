"""`/ws/bins/{bin_id}`: the owner's live view of a bin (authentication from auth_app.ws).

server -> client
    {"type": "ready", "bin_id": "..."}           joined: every capture from now on is pushed
    {"type": "event", "event": {...}}            a captured request (the list row: no body, no headers)
    {"type": "replay", "replay": {...}}          a replay finished (status, response_status, error_code)
    {"type": "pong"}                             answer to a client {"type": "ping"}
Close 4404: no such bin for this user (another user's bin looks the same as a missing one).

Pushes are best effort; the REST list is the record (a client that reconnects lists what it missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.cache import cache

from auth_app.ws import AuthenticatedJsonWebsocketConsumer
from common.channels import spread_ticks
from common.errors import NotFound

from . import selectors
from .live import bin_group, watch_key

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404


async def _watch(bin_id: str) -> None:
    try:
        await cache.aset(watch_key(bin_id), 1, timeout=int(settings.BINS_WATCH_SECONDS))
    except Exception:  # without the mark the socket still works once the cache is back
        logger.warning("bins: could not mark bin %s as watched", bin_id, exc_info=True)


@database_sync_to_async
def _owned(user: Any, bin_id: str) -> bool:
    try:
        selectors.bin_get_owned(owner=user, bin_id=bin_id)
    except NotFound:
        return False
    return True


class BinConsumer(AuthenticatedJsonWebsocketConsumer):
    _group: str | None = None
    _watcher: asyncio.Task[None] | None = None

    async def on_authenticated(self) -> None:
        bin_id = self.scope["url_route"]["kwargs"]["bin_id"]
        if not await _owned(self.scope["user"], bin_id):
            await self.close_with(CLOSE_NOT_FOUND)
            return
        self._group = bin_group(bin_id)
        await self.channel_layer.group_add(self._group, self.channel_name)
        # Captures are pushed only to bins someone watches: say so now, and again while open.
        await _watch(bin_id)
        self._watcher = asyncio.create_task(self._keep_watching(bin_id))
        await self.send_json({"type": "ready", "bin_id": bin_id})

    async def _keep_watching(self, bin_id: str) -> None:
        async for _ in spread_ticks(float(settings.BINS_WATCH_SECONDS) / 3, lambda: self._group is not None):
            await _watch(bin_id)

    async def on_message(self, content: dict[str, Any]) -> None:
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def disconnect(self, code: int) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        if self._group is not None:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(self._group, self.channel_name)
            self._group = None

    async def bin_events(self, message: dict[str, Any]) -> None:
        for event in message["events"]:
            await self.send_json({"type": "event", "event": event})

    async def bin_replay(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "replay", "replay": message["replay"]})
