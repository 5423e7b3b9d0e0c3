"""The base consumer: authenticated before it does anything, re-checked while open, frames bounded."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings
from redis.exceptions import RedisError

from common.channels import channel_release, layer_receive, spread_ticks
from common.errors import ServiceUnavailable
from common.net import client_ip
from common.streams import StreamLease, StreamsFull, stream_slots_acquire

from ..streams import StreamCredential, stream_credential_is_valid, stream_groups, stream_message_verdict
from ..tokens import TokenInvalid
from .handshake import (
    BEARER_SUBPROTOCOL,
    CLOSE_BAD_MESSAGE,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_STREAMS,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    WsAuth,
    _authenticate_token,
)

logger = logging.getLogger(__name__)


async def _credential_still_valid(scope: dict[str, Any]) -> bool:
    """Whether the socket's credential still holds (`auth_app.streams.stream_credential_is_valid`).
    An unreachable cache raises ServiceUnavailable."""
    auth: WsAuth = scope.get("ws_auth") or WsAuth()
    if auth.credential is None:
        return True  # not authenticated yet: the auth deadline handles it
    valid: bool = await database_sync_to_async(stream_credential_is_valid)(auth.credential)
    return valid


async def _close_unavailable(scope: Any, receive: Any, send: Any) -> None:
    """Accept the handshake (with the bearer subprotocol when offered) and close it with 1013."""
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    auth: WsAuth = scope.get("ws_auth") or WsAuth()
    await send({"type": "websocket.accept", "subprotocol": BEARER_SUBPROTOCOL if auth.bearer_offered else None})
    await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})


def _frame_refusal(text: str | None, data: bytes | None, *, authenticated: bool) -> int | None:
    """The close code for a frame refused before it is parsed, or None to parse it (module docstring)."""
    limit = int(settings.WS_MAX_MESSAGE_BYTES if authenticated else settings.WS_AUTH_MESSAGE_MAX_BYTES)
    if text is None:
        return CLOSE_TOO_BIG if len(data or b"") > limit else CLOSE_BAD_MESSAGE
    # Characters <= UTF-8 bytes <= 4 x characters: encode only when the count alone cannot tell.
    if len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit):
        return CLOSE_TOO_BIG
    if not authenticated:
        if not text.lstrip().startswith("{"):
            return CLOSE_BAD_MESSAGE
        if '"auth"' not in text:
            return CLOSE_UNAUTHENTICATED
    return None


class AuthenticatedJsonWebsocketConsumer(AsyncJsonWebsocketConsumer):
    """Base JSON consumer that is authenticated before it does anything (see the module docstring)."""

    authenticated: bool = False
    _auth_groups: frozenset[str] | set[str] = frozenset()
    _rechecker: asyncio.Task[None] | None = None
    _streams: StreamLease | None = None

    async def on_authenticated(self) -> None:
        """Called once the socket has a user; subclasses join their groups here."""

    async def on_message(self, content: dict[str, Any]) -> None:
        """Called for each JSON object received after authentication."""

    # --- connection life cycle ---------------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' dispatch loop, with a channel-layer receive that a cancellation really stops.

        channels_redis can absorb the cancellation of a pending receive, and Channels then waits for
        that receive forever when the socket closes: one leaked task per closed socket. Everything
        else is as in `AsyncConsumer.__call__`.
        """
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        sources = [receive]
        if self.channel_layer is not None:
            try:
                self.channel_name = await self.channel_layer.new_channel()
            except (RedisError, OSError):  # the layer's Redis is unreachable: 1013, not a handshake 500
                logger.warning("auth: channel layer unavailable; closing the socket with 1013", exc_info=True)
                await _close_unavailable(scope, receive, send)
                return
            self.channel_receive = functools.partial(layer_receive, self.channel_layer, self.channel_name)
            sources.append(self.channel_receive)
        try:
            await await_many_dispatch(sources, self.dispatch)
        except StopConsumer:
            pass
        finally:  # the layer's receive may already hold a message, which would keep its queue
            if self.channel_layer is not None:
                await channel_release(self.channel_layer, self.channel_name)

    async def connect(self) -> None:
        self.authenticated = False
        self._closing = False
        self._timers: list[asyncio.Task[None]] = []
        auth: WsAuth = self.scope.get("ws_auth") or WsAuth()
        await self.accept(subprotocol=BEARER_SUBPROTOCOL if auth.bearer_offered else None)
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self._authenticated(auth.expires_at, credential=auth.credential)
        elif auth.error == "unavailable":
            await self.close_with(CLOSE_TRY_AGAIN)
        elif auth.bearer_offered:
            await self.close_with(CLOSE_UNAUTHENTICATED)
        else:
            self._timers.append(asyncio.create_task(self._auth_deadline()))

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self._cancel_timers()
        if self._streams is not None:
            await self._streams.release()
        await self._follow(None)
        await super().websocket_disconnect(message)

    async def close_with(self, code: int) -> None:
        """Close once with `code`, ignoring anything that arrives afterwards."""
        if self._closing:
            return
        self._closing = True
        self._cancel_timers()
        await self.close(code=code)

    # --- messages -------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self._closing:
            return
        refusal = _frame_refusal(text_data, bytes_data, authenticated=self.authenticated)
        if refusal is not None:
            await self.close_with(refusal)
            return
        try:
            content = json.loads(text_data) if text_data is not None else None
            # A lone surrogate parses but cannot be encoded again; refuse it here, not deep in a handler.
            json.dumps(content, ensure_ascii=False).encode()
        except (ValueError, RecursionError, UnicodeError):
            content = None
        if not isinstance(content, dict):
            await self.close_with(CLOSE_BAD_MESSAGE)
            return
        if content.get("type") == "auth":
            await self._auth_message(content)
        elif not self.authenticated:
            await self.close_with(CLOSE_UNAUTHENTICATED)
        else:
            await self.on_message(content)

    async def _auth_message(self, content: dict[str, Any]) -> None:
        token = content.get("token")
        if not isinstance(token, str) or not token:
            await self.close_with(CLOSE_UNAUTHENTICATED)
            return
        try:
            user, claims = await _authenticate_token(token)
        except (TokenInvalid, ValueError):
            await self.close_with(CLOSE_UNAUTHENTICATED)
            return
        except ServiceUnavailable:
            await self.close_with(CLOSE_TRY_AGAIN)
            return
        if self.authenticated:
            if user.pk != self.scope["user"].pk:
                await self.close_with(CLOSE_UNAUTHENTICATED)
                return
            self._schedule_expiry(float(claims.exp))
            credential = StreamCredential.for_token(token, claims)
            self.scope["ws_auth"].credential = credential
            await self._follow(credential)
            return
        self._cancel_timers()
        self.scope["user"] = user
        auth: WsAuth = self.scope.get("ws_auth") or WsAuth()
        auth.method, auth.expires_at, auth.sid, auth.error = "bearer", float(claims.exp), claims.sid, None
        auth.credential = StreamCredential.for_token(token, claims)
        self.scope["ws_auth"] = auth
        await self._authenticated(float(claims.exp), credential=auth.credential)

    # --- internals ------------------------------------------------------------------------------

    async def auth_session_revoked(self, event: dict[str, Any]) -> None:
        """Channel-layer message from the session services: this socket's session was revoked."""
        await self.close_with(CLOSE_UNAUTHENTICATED)

    async def auth_credentials_changed(self, event: dict[str, Any]) -> None:
        """Channel-layer message from the auth services: the user's credentials changed. Close if it
        names this socket's (logged-out) session, else re-check now."""
        auth: WsAuth = self.scope.get("ws_auth") or WsAuth()
        if auth.credential is not None and stream_message_verdict(auth.credential, event) == "close":
            await self.close_with(CLOSE_UNAUTHENTICATED)
        else:
            await self._recheck()

    async def _authenticated(self, expires_at: float | None, *, credential: StreamCredential | None) -> None:
        try:
            self._streams = await stream_slots_acquire(user_id=self.scope["user"].pk, ip=client_ip(self.scope))
        except StreamsFull:
            await self.close_with(CLOSE_TOO_MANY_STREAMS)
            return
        except ServiceUnavailable:
            await self.close_with(CLOSE_TRY_AGAIN)
            return
        self._streams.start_refreshing()
        self.authenticated = True
        if expires_at is not None:
            self._schedule_expiry(expires_at)
        await self._follow(credential)
        if self._rechecker is None:
            self._rechecker = asyncio.create_task(self._recheck_loop())
        await self.on_authenticated()

    async def _recheck_loop(self) -> None:
        """Re-check the credential every WS_AUTH_RECHECK_SECONDS (the first after 0.5-1.5 of that).

        The revocation push (`auth_session_revoked`) is best effort: the channel layer may drop it (a
        process reconnecting to Redis misses pub/sub messages). This bounds how long a revoked
        session, a logged-out cookie or a deactivated user keeps a socket open.
        """
        async for _ in spread_ticks(float(settings.WS_AUTH_RECHECK_SECONDS), lambda: not self._closing):
            if not await self._recheck():
                return

    async def _recheck(self) -> bool:
        """Close the socket unless its credential still holds; True while it stays open."""
        if self._closing:
            return False
        try:
            valid = await _credential_still_valid(self.scope)
        except ServiceUnavailable:
            await self.close_with(CLOSE_TRY_AGAIN)
            return False
        if not valid:
            await self.close_with(CLOSE_UNAUTHENTICATED)
        return valid

    async def _follow(self, credential: StreamCredential | None) -> None:
        """Be in exactly the groups of `credential` (none for None), leaving a previous token's session group."""
        wanted = set(stream_groups(credential)) if credential is not None else set()
        if self.channel_layer is None:
            return
        for group in sorted(self._auth_groups - wanted):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # the layer is down; its group entries expire on their own
                logger.warning("auth: leaving %s failed", group, exc_info=True)
        for group in sorted(wanted - self._auth_groups):
            await self.channel_layer.group_add(group, self.channel_name)
        self._auth_groups = wanted

    def _schedule_expiry(self, expires_at: float) -> None:
        for task in self._timers:
            task.cancel()
        self._timers = [asyncio.create_task(self._close_at(expires_at))]

    async def _close_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self.close_with(CLOSE_UNAUTHENTICATED)

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(float(settings.WS_AUTH_TIMEOUT_SECONDS))
        if not self.authenticated:
            await self.close_with(CLOSE_UNAUTHENTICATED)

    def _cancel_timers(self) -> None:
        current = asyncio.current_task()
        for task in [*getattr(self, "_timers", []), self._rechecker]:
            if task is not None and task is not current:
                task.cancel()
        self._timers = []
