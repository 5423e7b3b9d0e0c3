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

import contextlib
from typing import Any

from channels.db import database_sync_to_async

from auth_app.ws import AuthenticatedJsonWebsocketConsumer
from common.errors import NotFound

from . import selectors
from .live import bin_group

CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _owned(user: Any, bin_id: str) -> bool:
    try:
        selectors.bin_get_owned(owner=user, bin_id=bin_id)
    except NotFound:
        return False
    return True


class BinConsumer(AuthenticatedJsonWebsocketConsumer):
    _group: str | None = None

    async def on_authenticated(self) -> None:
        bin_id = self.scope["url_route"]["kwargs"]["bin_id"]
        if not await _owned(self.scope["user"], bin_id):
            await self.close_with(CLOSE_NOT_FOUND)
            return
        self._group = bin_group(bin_id)
        await self.channel_layer.group_add(self._group, self.channel_name)
        await self.send_json({"type": "ready", "bin_id": bin_id})

    async def on_message(self, content: dict[str, Any]) -> None:
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def disconnect(self, code: int) -> None:
        if self._group is not None:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(self._group, self.channel_name)
            self._group = None

    async def bin_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "event", "event": message["event"]})

    async def bin_replay(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "replay", "replay": message["replay"]})
