"""JSON Web Tokens for the Auth API: minting, strict decoding, and the session denylist.

simplejwt's `TokenBackend` signs and verifies (its token classes are bound to its own blacklist
app, which our session table replaces, so they are not used). Every token is HS256 with `iss`,
`aud`, `sub` (user id), `sid` (session id), `jti`, `iat`, `exp` and `token_type` ("access" or
"refresh"); decoding pins the algorithm and requires every one of those claims, so `alg: none`,
a foreign issuer or audience, a refresh token used as an access token and the reverse are all
refused.

The denylist is a cache entry per revoked session (`sid`) that lives as long as the longest-lived
access token of that session could (JWT_ACCESS_TTL plus a little clock leeway): one cache read per
authenticated request kills every access token of a session the moment it is revoked.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError

from .throttles import cache_guard

TokenType = Literal["access", "refresh"]
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "token_type"]
DENYLIST_PREFIX = "auth:denied-sid:"
DENYLIST_LEEWAY_SECONDS = 5
VERIFIED_TOKENS_REMEMBERED = 4096  # per process: ~2 MiB at most
SESSION_GROUP_PREFIX = "auth.session."
USER_GROUP_PREFIX = "auth.user."
# Channel-layer messages to open streams (WebSocket, SSE): their session was revoked (close at once), or
# something about their user's credentials changed (re-check now: logout of a cookie session, password
# change, a revoked API key, deactivation).
SESSION_REVOKED_MESSAGE = {"type": "auth.session_revoked"}
CREDENTIALS_CHANGED_MESSAGE = {"type": "auth.credentials_changed"}


class TokenInvalid(Exception):
    """The token is malformed, forged, expired, of the wrong type, or for another issuer/audience."""


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims of a token. `request.auth` is one of these for Bearer requests."""

    sub: str
    sid: str
    jti: str
    token_type: str
    exp: int
    iat: int

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, tz=UTC)


def _backend() -> TokenBackend:
    return _backend_for(settings.JWT_ALGORITHM, settings.JWT_SIGNING_KEY, settings.JWT_AUDIENCE, settings.JWT_ISSUER)


@functools.lru_cache(maxsize=4)
def _backend_for(algorithm: str, signing_key: str, audience: str, issuer: str) -> TokenBackend:
    # One backend per configuration, not per call: a new one prepares its key again on every token
    # (~0.1 ms of each request, issue 8). Keyed by the settings so a test's override takes effect.
    return TokenBackend(algorithm=algorithm, signing_key=signing_key, audience=audience, issuer=issuer)


def new_jti() -> str:
    return uuid.uuid4().hex


def token_encode(
    *, user_id: str, sid: str, jti: str, token_type: TokenType, lifetime: timedelta, now: datetime | None = None
) -> tuple[str, datetime]:
    """Sign a token; returns it and its expiry."""
    issued = now or timezone.now()
    expires = issued + lifetime
    payload = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": str(user_id),
        "sid": str(sid),
        "jti": jti,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "token_type": token_type,
    }
    return _backend().encode(payload), expires


def token_decode(token: str, *, expected_type: TokenType) -> TokenClaims:
    """Verify signature, algorithm, expiry, issuer, audience and type; raise `TokenInvalid` otherwise."""
    claims = _verified_claims(
        token, settings.JWT_ALGORITHM, settings.JWT_SIGNING_KEY, settings.JWT_AUDIENCE, settings.JWT_ISSUER
    )
    if claims.token_type != expected_type:
        raise TokenInvalid(f"expected a {expected_type} token")
    # A remembered verification still expires: the same test as PyJWT's (`exp` in the past, no leeway).
    if claims.exp <= time.time():
        raise TokenInvalid("Token is invalid or expired")
    return claims


# A client sends the same access token with every request until it expires: its signature and claims
# are verified once per process and configuration, not per request (~0.1 ms each, issue 8). Only
# tokens that verified are remembered (a forged one cannot evict others: it is never stored); expiry,
# type and revocation are still checked on every use.
@functools.lru_cache(maxsize=VERIFIED_TOKENS_REMEMBERED)
def _verified_claims(token: str, algorithm: str, signing_key: str, audience: str, issuer: str) -> TokenClaims:
    try:
        # The backend pins the algorithm list to JWT_ALGORITHM and checks signature, exp, iss and aud.
        backend = _backend_for(algorithm, signing_key, audience, issuer)
        payload = backend.decode(token, verify=True)  # type: ignore[arg-type]  # annotated as its Token class; takes str
    except (TokenBackendError, ValueError, TypeError) as exc:
        raise TokenInvalid(str(exc)) from exc
    missing = [claim for claim in REQUIRED_CLAIMS if claim not in payload]
    if missing:
        raise TokenInvalid(f"missing claims: {', '.join(missing)}")
    try:
        return TokenClaims(
            sub=str(uuid.UUID(str(payload["sub"]))),
            sid=str(uuid.UUID(str(payload["sid"]))),
            jti=str(payload["jti"]),
            token_type=str(payload["token_type"]),
            exp=int(payload["exp"]),
            iat=int(payload["iat"]),
        )
    except (ValueError, TypeError) as exc:
        raise TokenInvalid("malformed claims") from exc


# --- Denylist of revoked sessions ------------------------------------------------------------------


def session_denylist_add(sids: list[str]) -> None:
    """Refuse every access token of these sessions from now until the last of them has expired."""
    if not sids:
        return
    ttl = int(settings.JWT_ACCESS_TTL.total_seconds()) + DENYLIST_LEEWAY_SECONDS
    with cache_guard():
        cache.set_many({DENYLIST_PREFIX + str(sid): 1 for sid in sids}, timeout=ttl)


def session_is_denied(sid: str) -> bool:
    """Whether the session was revoked; an unreachable cache is `ServiceUnavailable` (503), never a pass."""
    with cache_guard():
        return cache.get(DENYLIST_PREFIX + str(sid)) is not None


def session_group(sid: str) -> str:
    """The channel-layer group of the WebSockets opened with an access token of session `sid`."""
    return f"{SESSION_GROUP_PREFIX}{sid}"


def user_group(user_id: object) -> str:
    """The channel-layer group of every open stream of one user, however it authenticated."""
    return f"{USER_GROUP_PREFIX}{user_id}"


def session_digest(session_key: str) -> str:
    """How a logged-out Django session is named in a channel-layer message (never the key itself)."""
    return salted_hmac("auth_app.streams.session", session_key, algorithm="sha256").hexdigest()
