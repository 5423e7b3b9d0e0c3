"""How a request proves who it is: Bearer access token, API key, or the Django session.

Contracts other apps rely on (stable names and signatures):

- `JWTAuthentication` (DRF): `Authorization: Bearer <access JWT>`. Verifies HS256 signature, `exp`,
  `iss`, `aud`, `token_type == "access"` (once per request), then the session denylist filled by
  logout/revocation and the active user (`auth_app.user_cache`): both read in one cache round trip,
  usually already made by the rate limiter; the user is queried only on a cache miss. Sets `request.user` and
  `request.auth = TokenClaims(sub, sid, jti, token_type, exp, iat)`. A bad token is 401
  `invalid_token`; no Authorization header (or another scheme) lets the next class try.
  `authenticate_header` gives a Bearer challenge, so unauthenticated requests stay 401, never 403.
- `ApiKeyAuthentication` (DRF): `X-API-Key: ak_<prefix>_<secret>`; `request.auth` is the
  `ApiKey` row. A bad key is 401 `invalid_api_key`.
- `authenticate_request(request) -> User | None`: the same Bearer / API key / Django session logic
  for plain (non-DRF) Django views; synchronous (wrap with `sync_to_async` in async views). Any
  invalid credential gives None; an unreachable cache raises `common.errors.ServiceUnavailable`.
- `request_principal(request) -> str | None`: cheap, no database access (one cache read for an API
  key). For a Bearer token with a valid signature, expiry, issuer and audience: `"user:<user id>"`
  (a `common.ratelimit.Principal` naming the session's denylist entry, so a revoked token counts by
  IP, and the user's cache entry, read in the limiter's round trip);
  for an `X-API-Key` whose prefix and secret hash match a recently verified key: `"user:<owner
  id>"`; otherwise None (the request counts by client IP). For rate-limit keys only, never access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from common.ratelimit import Principal, prefetched

from .models import ApiKey, User
from .services.api_keys import api_key_authenticate, principal_for_api_key
from .throttles import cache_guard
from .tokens import DENYLIST_PREFIX, TokenClaims, TokenInvalid, token_decode
from .user_cache import user_active_load, user_cache_enabled, user_cache_key

__all__ = [
    "API_KEY_HEADER",
    "ApiKeyAuthentication",
    "InvalidApiKey",
    "InvalidToken",
    "JWTAuthentication",
    "authenticate_access_token",
    "authenticate_request",
    "request_principal",
]

API_KEY_HEADER = "X-API-Key"
BEARER_CHALLENGE = 'Bearer realm="api"'


class InvalidToken(exceptions.AuthenticationFailed):
    default_detail = "The access token is invalid, expired or revoked."
    default_code = "invalid_token"


class InvalidApiKey(exceptions.AuthenticationFailed):
    default_detail = "The API key is invalid, expired or revoked."
    default_code = "invalid_api_key"


class _Malformed(Exception):
    """An Authorization header that says Bearer but carries no single token."""


def _bearer_token(request: HttpRequest) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for no header or another scheme."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    parts = header.split()
    if not parts or parts[0].lower() != "bearer":
        return None
    if len(parts) != 2:
        raise _Malformed
    return parts[1]


def _decoded_access(token: str, request: HttpRequest | None) -> TokenClaims:
    """`token_decode(token, "access")`, once per request (the rate limiter and authentication both ask)."""
    memo: dict[str, TokenClaims | TokenInvalid] = {}
    if request is not None:
        memo = request.__dict__.setdefault("_auth_app_decoded", memo)
    found = memo.get(token)
    if found is None:
        try:
            found = token_decode(token, expected_type="access")
        except TokenInvalid as exc:
            found = exc
        memo[token] = found
    if isinstance(found, TokenInvalid):
        raise found
    return found


def _denied_and_cached_user(
    claims: TokenClaims, request: HttpRequest | None, *, with_user: bool = True
) -> tuple[bool, Any]:
    """Whether the session is on the denylist, and the cached user (or None): one cache round trip at most."""
    deny_key = DENYLIST_PREFIX + claims.sid
    user_key = user_cache_key(claims.sub) if with_user and user_cache_enabled() else None
    keys = [deny_key] + ([user_key] if user_key else [])
    found: dict[str, Any] = {}
    missing = []
    for key in keys:
        fetched, value = prefetched(request, key) if request is not None else (False, None)
        if fetched:
            found[key] = value
        else:
            missing.append(key)
    if missing:
        with cache_guard():
            found.update(cache.get_many(missing))
    return found.get(deny_key) is not None, found.get(user_key) if user_key else None


def authenticate_access_token(
    token: str, request: HttpRequest | None = None, *, fresh_user: bool = False
) -> tuple[User, TokenClaims]:
    """Verify an access token end to end (signature, claims, denylist, active user); raise `TokenInvalid`.

    With `request`, reuses what the rate limiter already decoded and read from the cache. An
    unreachable denylist cache raises `common.errors.ServiceUnavailable` (503). `fresh_user` reads
    the user from the database, not the user cache: a request that read the row just before a
    deactivation committed can put the old row back in the cache after the commit's delete.
    """
    claims = _decoded_access(token, request)
    denied, user = _denied_and_cached_user(claims, request, with_user=not fresh_user)
    if denied:
        raise TokenInvalid("session revoked")
    if not (isinstance(user, User) and user.is_active and str(user.pk) == claims.sub):
        user = user_active_load(user_id=claims.sub)
    if user is None:
        raise TokenInvalid("user missing or inactive")
    return user, claims


@dataclass(frozen=True)
class _Credentials:
    """What the request's headers prove: `kind` "bearer" or "api_key"; `user` None when they are invalid."""

    kind: Literal["bearer", "api_key"]
    user: User | None = None
    auth: TokenClaims | ApiKey | None = None
    malformed: bool = False


def _header_credentials(request: HttpRequest) -> _Credentials | None:
    """Bearer token first, then `X-API-Key`; None when the request carries neither. Memoised on the request."""
    if "_auth_app_credentials" in request.__dict__:
        memo: _Credentials | None = request.__dict__["_auth_app_credentials"]
        return memo
    found: _Credentials | None = None
    try:
        token = _bearer_token(request)
    except _Malformed:
        found = _Credentials(kind="bearer", malformed=True)
    else:
        if token is not None:
            try:
                user, claims = authenticate_access_token(token, request)
            except (TokenInvalid, ValueError):
                found = _Credentials(kind="bearer")
            else:
                found = _Credentials(kind="bearer", user=user, auth=claims)
        elif (raw := request.META.get("HTTP_X_API_KEY")) is not None:
            key = api_key_authenticate(raw_key=raw.strip())
            found = _Credentials(kind="api_key", user=key.user if key else None, auth=key)
    request._auth_app_credentials = found  # type: ignore[attr-defined]
    return found


class JWTAuthentication(BaseAuthentication):
    """DRF authentication with a Bearer access token (see the module docstring)."""

    def authenticate(self, request: Request) -> tuple[User, TokenClaims] | None:
        found = _header_credentials(request._request)
        if found is None or found.kind != "bearer":
            return None
        if found.malformed:
            raise InvalidToken("The Authorization header must be `Bearer <token>`.")
        if found.user is None or not isinstance(found.auth, TokenClaims):
            raise InvalidToken()
        return found.user, found.auth

    def authenticate_header(self, request: Request) -> str:
        return BEARER_CHALLENGE


class ApiKeyAuthentication(BaseAuthentication):
    """DRF authentication with an `X-API-Key` header (see the module docstring)."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        found = _header_credentials(request._request)
        if found is None or found.kind != "api_key":
            return None
        if found.user is None or not isinstance(found.auth, ApiKey):
            raise InvalidApiKey()
        return found.user, found.auth

    def authenticate_header(self, request: Request) -> str:
        return BEARER_CHALLENGE


def authenticate_request(request: HttpRequest) -> User | None:
    """The user behind a plain Django request (Bearer, then API key, then session), or None. Sync."""
    found = _header_credentials(request)
    if found is not None:
        return found.user
    session_user: Any = getattr(request, "user", AnonymousUser())
    if getattr(session_user, "is_authenticated", False) and getattr(session_user, "is_active", False):
        return session_user if isinstance(session_user, User) else User.objects.filter(pk=session_user.pk).first()
    return None


def request_principal(request: HttpRequest) -> str | None:
    """A rate-limit identity without a database query: `user:<id>` or None (count by client IP).

    A Bearer token counts when its signature, expiry, issuer and audience hold. An API key counts
    only when it is one that authenticated (or was created) recently: its prefix is in the cache
    with the SHA-256 of this very secret (compared in constant time); then it is its owner's
    `user:<id>`, so every key of a user shares the user's bucket. A made-up key counts by IP.
    """
    try:
        token = _bearer_token(request)
    except _Malformed:
        return None
    if token is not None:
        try:
            claims = _decoded_access(token, request)
        except TokenInvalid:
            return None
        fetch = (user_cache_key(claims.sub),) if user_cache_enabled() else ()
        return Principal(f"user:{claims.sub}", revoked_key=DENYLIST_PREFIX + claims.sid, fetch_keys=fetch)
    raw = request.META.get("HTTP_X_API_KEY")
    if raw is not None:
        return principal_for_api_key(raw.strip())
    return None
