"""WebSocket authentication: a Channels middleware and the base consumer every socket endpoint uses.

Contracts (stable names):

- `WebSocketAuthMiddleware(inner)`: config/asgi.py wraps the URLRouter with it. It reads the
  access token from `Sec-WebSocket-Protocol: bearer, <access token>` (i.e.
  `scope["subprotocols"] == ["bearer", token]`), or else the Django session cookie (our own browser
  pages), and sets `scope["user"]` (AnonymousUser when neither works) and `scope["ws_auth"]`, a
  `WsAuth` with `method` ("bearer" | "session" | None), `bearer_offered`, `expires_at` (epoch
  seconds of the token's expiry or None), `sid` and `error`. A token in the URL query string is
  never read.
- `AuthenticatedJsonWebsocketConsumer(AsyncJsonWebsocketConsumer)`: subclass it and implement
  `async def on_authenticated(self) -> None` (join groups there, not via `groups`) and
  `async def on_message(self, content: dict) -> None`. It accepts with `subprotocol="bearer"`
  when the client offered it (browsers drop the socket otherwise); an anonymous connection is
  accepted and must send `{"type": "auth", "token": "<access>"}` within WS_AUTH_TIMEOUT_SECONDS
  (default 5). The socket is closed when the token expires (a later `auth` message with a fresh
  token of the same user extends it). Logout (the session denylist) is checked at connect/auth time
  and again every WS_AUTH_RECHECK_SECONDS (default 30; a lost revocation push, a logged-out cookie
  session or a deactivated user closes it with 4401 then), and a socket authenticated by a token
  joins its session's group `auth.session.<sid>`: revoking the session (logout, logout-all,
  password change, ...) closes it at once with 4401. Override
  `disconnect(code)` to leave your own groups, as usual in Channels (the session group is left by
  the base class, whether or not the override calls super).

Limits: a message over WS_MAX_MESSAGE_BYTES closes the socket with 1009 (uvicorn enforces the same
number with `--ws-max-size`; this is the check for any other server). Before authentication only the
auth message is parsed: a frame over WS_AUTH_MESSAGE_MAX_BYTES closes 1009, a binary frame or one
that is not a JSON object closes 4400, and one that does not mention "auth" closes 4401, all
without parsing it. Once authenticated the socket takes one of the user's and one of the client IP's
stream slots (common.streams: STREAMS_MAX_PER_USER, STREAMS_MAX_PER_IP, shared with SSE) until it
closes; past either cap it closes with 4429.

Close codes:
    4401 CLOSE_UNAUTHENTICATED  authentication missing, invalid, expired, revoked or timed out
    4403 CLOSE_FORBIDDEN        authenticated but not allowed (raised by subclasses)
    4400 CLOSE_BAD_MESSAGE      malformed message (not a JSON object)
    4429 CLOSE_TOO_MANY_STREAMS the user or the client IP already holds its maximum of open streams
    1009 CLOSE_TOO_BIG          a message over WS_MAX_MESSAGE_BYTES (before auth: WS_AUTH_MESSAGE_MAX_BYTES)
    1013 CLOSE_TRY_AGAIN        the session store (cache) is unreachable; retry later
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.sessions import SessionMiddlewareStack
from channels.utils import await_many_dispatch
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from redis.exceptions import RedisError

from common.channels import channel_release, layer_receive, spread_ticks
from common.errors import ServiceUnavailable
from common.net import client_ip
from common.streams import StreamLease, StreamsFull, stream_slots_acquire

from .tokens import TokenInvalid, session_group

__all__ = [
    "CLOSE_BAD_MESSAGE",
    "CLOSE_FORBIDDEN",
    "CLOSE_TOO_BIG",
    "CLOSE_TOO_MANY_STREAMS",
    "CLOSE_TRY_AGAIN",
    "CLOSE_UNAUTHENTICATED",
    "AuthenticatedJsonWebsocketConsumer",
    "WebSocketAuthMiddleware",
    "WsAuth",
]

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_MESSAGE = 4400
CLOSE_TRY_AGAIN = 1013
CLOSE_TOO_BIG = 1009
CLOSE_TOO_MANY_STREAMS = 4429
BEARER_SUBPROTOCOL = "bearer"


@dataclass
class WsAuth:
    """How the socket was authenticated; `scope["ws_auth"]`."""

    method: str | None = None
    bearer_offered: bool = False
    expires_at: float | None = None
    sid: str | None = None
    error: str | None = None


def _authenticate_token_sync(token: str) -> tuple[Any, Any]:
    from .authentication import authenticate_access_token

    return authenticate_access_token(token)


_authenticate_token = database_sync_to_async(_authenticate_token_sync)


@database_sync_to_async
def _session_user(scope: dict[str, Any]) -> Any:
    """The user of the Django session cookie (the same checks as django.contrib.auth.get_user)."""
    from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY

    session = scope.get("session")
    if session is None:
        return AnonymousUser()
    try:
        user_id = session[SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash or not _constant_time_equal(session_hash, user.get_session_auth_hash()):
        return AnonymousUser()
    return user


async def _credential_still_valid(scope: dict[str, Any]) -> bool:
    """Whether the socket's credential still holds: its token's session is not revoked, or its
    Django session still names the same active user. An unreachable cache raises ServiceUnavailable."""
    auth: WsAuth = scope.get("ws_auth") or WsAuth()
    user = scope.get("user")
    if auth.method == "bearer" and auth.sid is not None:
        from .tokens import session_is_denied

        return not await sync_to_async(session_is_denied, thread_sensitive=False)(auth.sid)
    if auth.method == "session" and user is not None:
        from importlib import import_module

        session = scope.get("session")
        key = getattr(session, "session_key", None)
        if not key:
            return False
        fresh = import_module(settings.SESSION_ENGINE).SessionStore(key)  # not the copy loaded at connect
        current = await _session_user({"session": fresh})
        return bool(current.is_authenticated and current.pk == user.pk)
    return True


def _constant_time_equal(a: str, b: str) -> bool:
    from django.utils.crypto import constant_time_compare

    return constant_time_compare(a, b)


class _ResolveUser:
    """Inner half of the middleware; runs after the session middleware has put `scope["session"]`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        auth = WsAuth()
        user: Any = AnonymousUser()
        subprotocols = [str(p).strip() for p in scope.get("subprotocols") or []]
        if subprotocols and subprotocols[0].lower() == BEARER_SUBPROTOCOL:
            auth.bearer_offered = True
            if len(subprotocols) != 2 or not subprotocols[1]:
                auth.error = "malformed bearer subprotocol"
            else:
                try:
                    user, claims = await _authenticate_token(subprotocols[1])
                except (TokenInvalid, ValueError):
                    auth.error = "invalid token"
                    user = AnonymousUser()
                except ServiceUnavailable:
                    auth.error = "unavailable"
                    user = AnonymousUser()
                else:
                    auth.method, auth.expires_at, auth.sid = "bearer", float(claims.exp), claims.sid
        else:
            user = await _session_user(scope)
            if user.is_authenticated:
                auth.method = "session"
        scope["user"] = user
        scope["ws_auth"] = auth
        return await self.inner(scope, receive, send)


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


class WebSocketAuthMiddleware:
    """Channels middleware: bearer subprotocol or Django session cookie -> `scope["user"]`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._app = SessionMiddlewareStack(_ResolveUser(inner))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") != "websocket":
            return await self.inner(scope, receive, send)
        return await self._app(scope, receive, send)


class AuthenticatedJsonWebsocketConsumer(AsyncJsonWebsocketConsumer):
    """Base JSON consumer that is authenticated before it does anything (see the module docstring)."""

    authenticated: bool = False
    _session_group: str | None = None
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
            await self._authenticated(auth.expires_at, sid=auth.sid if auth.method == "bearer" else None)
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
        await self._leave_session_group()
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
            await self._join_session_group(claims.sid)
            return
        self._cancel_timers()
        self.scope["user"] = user
        auth: WsAuth = self.scope.get("ws_auth") or WsAuth()
        auth.method, auth.expires_at, auth.sid, auth.error = "bearer", float(claims.exp), claims.sid, None
        self.scope["ws_auth"] = auth
        await self._authenticated(float(claims.exp), sid=claims.sid)

    # --- internals ------------------------------------------------------------------------------

    async def auth_session_revoked(self, event: dict[str, Any]) -> None:
        """Channel-layer message from the session services: this socket's session was revoked."""
        await self.close_with(CLOSE_UNAUTHENTICATED)

    async def _authenticated(self, expires_at: float | None, *, sid: str | None) -> None:
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
        if sid is not None:
            await self._join_session_group(sid)
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
            try:
                valid = await _credential_still_valid(self.scope)
            except ServiceUnavailable:
                await self.close_with(CLOSE_TRY_AGAIN)
                return
            if not valid:
                await self.close_with(CLOSE_UNAUTHENTICATED)
                return

    async def _join_session_group(self, sid: str) -> None:
        """Follow the revocation of session `sid` (leaving the group of a previous token's session)."""
        group = session_group(sid)
        if group == self._session_group or self.channel_layer is None:
            return
        await self._leave_session_group()
        await self.channel_layer.group_add(group, self.channel_name)
        self._session_group = group

    async def _leave_session_group(self) -> None:
        group, self._session_group = self._session_group, None
        if group is not None and self.channel_layer is not None:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # the layer is down; its group entries expire on their own
                logger.warning("auth: leaving %s failed", group, exc_info=True)

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
