"""Open streams and the credential they were opened with: one re-check for WebSockets and SSE alike.

This is the module other apps use for long-lived connections (notifications' SSE view; the WebSocket
consumers get it through `auth_app.ws`). Contracts (stable names):

- `StreamCredential(method, user_id, secret, sid, expires_at)`: how a stream authenticated. `method` is
  "bearer" (`secret` is the access token, `sid` its session), "api_key" (`secret` the raw key) or
  "session" (`secret` the Django session key).
- `stream_credential_for_request(request) -> (user, StreamCredential) | None`: Bearer, then
  `X-API-Key`, then the Django session cookie, with the same parser and checks as every API request
  (`auth_app.authentication`). Synchronous; an unreachable cache raises `ServiceUnavailable`.
- `stream_credential_is_valid(credential) -> bool`: whether the credential still holds now: the token's
  signature, expiry and session (the denylist), the key not revoked or expired, the Django session still
  logged in with a current password hash, and the user still active. Synchronous (database, cache); an
  unreachable cache raises `ServiceUnavailable`, so the caller decides (close with "try again").
- `stream_groups(credential) -> list[str]`: the channel-layer groups a stream joins to hear about its
  credential at once: its user's group (`auth.user.<id>`) and, for a token, its session's group.
- `stream_message_verdict(credential, message) -> "close" | "recheck" | None`: what a stream does
  with a message from those groups: `auth.session_revoked` closes; `auth.credentials_changed` closes
  the stream of the Django session it names as logged out (Django sends `user_logged_out` before it
  deletes the session, so a re-check at that moment would still pass) and has every other stream of
  the user call `stream_credential_is_valid` now; anything else is not an auth message (None).
  Each stream also re-checks periodically, in case a push was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from .authentication import _bearer_token, _header_credentials, authenticate_access_token, authenticate_request
from .models import User
from .services.api_keys import api_key_authenticate
from .tokens import (
    CREDENTIALS_CHANGED_MESSAGE,
    SESSION_REVOKED_MESSAGE,
    TokenClaims,
    TokenInvalid,
    session_digest,
    session_group,
    user_group,
)

__all__ = [
    "CREDENTIALS_CHANGED_MESSAGE",
    "SESSION_REVOKED_MESSAGE",
    "StreamCredential",
    "stream_credential_for_request",
    "stream_credential_is_valid",
    "stream_groups",
    "stream_message_verdict",
]

Method = Literal["bearer", "api_key", "session"]
Verdict = Literal["close", "recheck"]


@dataclass(frozen=True)
class StreamCredential:
    """The credential a stream was opened with (see the module docstring)."""

    method: Method
    user_id: str
    secret: str
    sid: str | None = None
    expires_at: float | None = None

    @classmethod
    def for_token(cls, token: str, claims: TokenClaims) -> StreamCredential:
        return cls("bearer", claims.sub, token, sid=claims.sid, expires_at=float(claims.exp))

    @classmethod
    def for_session(cls, user_id: Any, session_key: str) -> StreamCredential:
        return cls("session", str(user_id), session_key)


def stream_credential_for_request(request: HttpRequest) -> tuple[User, StreamCredential] | None:
    """Who opens this stream, and with what; None when the request is not authenticated."""
    user = authenticate_request(request)
    if user is None:
        return None
    found = _header_credentials(request)  # memoised by authenticate_request: no second check
    if found is not None and isinstance(found.auth, TokenClaims):
        token = _bearer_token(request)
        assert token is not None  # noqa: S101 - a bearer credential came from this header
        return user, StreamCredential.for_token(token, found.auth)
    if found is not None:
        return user, StreamCredential("api_key", str(user.pk), request.META["HTTP_X_API_KEY"].strip())
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if not session_key:
        return None
    return user, StreamCredential.for_session(user.pk, session_key)


def stream_credential_is_valid(credential: StreamCredential) -> bool:
    """Whether the stream's credential still holds (see the module docstring). Sync."""
    if credential.method == "bearer":
        try:
            # From the database: a stream re-checks because a credential may just have changed.
            user, _claims = authenticate_access_token(credential.secret, fresh_user=True)
        except (TokenInvalid, ValueError):
            return False
        return str(user.pk) == credential.user_id
    if credential.method == "api_key":
        key = api_key_authenticate(raw_key=credential.secret)  # None once revoked/expired or the owner is inactive
        return key is not None and str(key.user_id) == credential.user_id
    store = import_module(settings.SESSION_ENGINE).SessionStore(credential.secret)
    # Django's own check: the session still exists and names this active user with a current hash.
    session_user = get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
    return bool(session_user.is_authenticated and session_user.is_active and str(session_user.pk) == credential.user_id)


def stream_message_verdict(credential: StreamCredential, message: dict[str, Any]) -> Verdict | None:
    """What a stream opened with `credential` does with a message from its groups (see the module docstring)."""
    kind = message.get("type")
    if kind == SESSION_REVOKED_MESSAGE["type"]:
        return "close"
    if kind != CREDENTIALS_CHANGED_MESSAGE["type"]:
        return None
    ended = message.get("session")
    ends_this_session = (
        credential.method == "session"
        and isinstance(ended, str)
        and constant_time_compare(ended, session_digest(credential.secret))
    )
    return "close" if ends_this_session else "recheck"


def stream_groups(credential: StreamCredential) -> list[str]:
    """The groups whose messages reach a stream opened with `credential` at once."""
    groups = [user_group(credential.user_id)]
    if credential.sid is not None:
        groups.append(session_group(credential.sid))
    return groups
