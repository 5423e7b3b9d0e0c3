"""WebSocket authentication: a Channels middleware and the base consumer every socket endpoint uses.

Contracts (stable names):

- `WebSocketAuthMiddleware(inner)`: config/asgi.py wraps the URLRouter with it. It reads the
  access token from `Sec-WebSocket-Protocol: bearer, <access token>` (i.e.
  `scope["subprotocols"] == ["bearer", token]`), or else the Django session cookie (our own browser
  pages), and sets `scope["user"]` (AnonymousUser when neither works) and `scope["ws_auth"]`, a
  `WsAuth` with `method` ("bearer" | "session" | None), `bearer_offered`, `expires_at` (epoch
  seconds of the token's expiry or None), `sid`, `credential` (the `auth_app.streams.StreamCredential`
  it authenticated with) and `error`. A token in the URL query string is never read.
- `AuthenticatedJsonWebsocketConsumer(AsyncJsonWebsocketConsumer)`: subclass it and implement
  `async def on_authenticated(self) -> None` (join groups there, not via `groups`) and
  `async def on_message(self, content: dict) -> None`. It accepts with `subprotocol="bearer"`
  when the client offered it (browsers drop the socket otherwise); an anonymous connection is
  accepted and must send `{"type": "auth", "token": "<access>"}` within WS_AUTH_TIMEOUT_SECONDS
  (default 5). The socket is closed when the token expires (a later `auth` message with a fresh
  token of the same user extends it). Logout (the session denylist) is checked at connect/auth time.
  The socket joins the groups of its credential (`auth_app.streams.stream_groups`: its user's
  `auth.user.<id>`, and for a token its session's `auth.session.<sid>`): revoking the session
  (logout, logout-all, password change, ...) closes it at once with 4401, and a change to the user's
  other credentials (a cookie session logged out, a key revoked, the user deactivated) makes it
  re-check its credential at once (`auth_app.streams.stream_credential_is_valid`, the same check the
  SSE stream makes). It is re-checked again every WS_AUTH_RECHECK_SECONDS (default 30) in case a push
  was lost. Override `disconnect(code)` to leave your own groups, as usual in Channels (the
  credential's groups are left by the base class, whether or not the override calls super).

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

from .consumer import AuthenticatedJsonWebsocketConsumer
from .handshake import (
    CLOSE_BAD_MESSAGE,
    CLOSE_FORBIDDEN,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_STREAMS,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    WebSocketAuthMiddleware,
    WsAuth,
)

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
