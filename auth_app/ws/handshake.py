"""The WebSocket handshake: who the socket is (bearer subprotocol or session cookie), before any frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.sessions import SessionMiddlewareStack
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from common.errors import ServiceUnavailable

from ..streams import StreamCredential
from ..tokens import TokenInvalid

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
    credential: StreamCredential | None = None


def _authenticate_token_sync(token: str) -> tuple[Any, Any]:
    from ..authentication import authenticate_access_token

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
                    auth.credential = StreamCredential.for_token(subprotocols[1], claims)
        else:
            user = await _session_user(scope)
            if user.is_authenticated:
                auth.method = "session"
                auth.credential = StreamCredential.for_session(user.pk, scope["session"].session_key)
        scope["user"] = user
        scope["ws_auth"] = auth
        return await self.inner(scope, receive, send)


class WebSocketAuthMiddleware:
    """Channels middleware: bearer subprotocol or Django session cookie -> `scope["user"]`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._app = SessionMiddlewareStack(_ResolveUser(inner))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") != "websocket":
            return await self.inner(scope, receive, send)
        return await self._app(scope, receive, send)
