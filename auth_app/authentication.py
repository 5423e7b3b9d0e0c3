"""How a request proves who it is: Bearer access token, API key, or the Django session.

Contracts other apps rely on (stable names and signatures):

- `JWTAuthentication` (DRF): `Authorization: Bearer <access JWT>`. Verifies HS256 signature, `exp`,
  `iss`, `aud`, `token_type == "access"`, then one cache read (the session denylist filled by
  logout/revocation) and one query for the active user. Sets `request.user` and
  `request.auth = TokenClaims(sub, sid, jti, token_type, exp, iat)`. A bad token is 401
  `invalid_token`; no Authorization header (or another scheme) lets the next class try.
  `authenticate_header` gives a Bearer challenge, so unauthenticated requests stay 401, never 403.
- `ApiKeyAuthentication` (DRF): `X-API-Key: ak_<prefix>_<secret>`; `request.auth` is the
  `ApiKey` row. A bad key is 401 `invalid_api_key`.
- `authenticate_request(request) -> User | None`: the same Bearer / API key / Django session logic
  for plain (non-DRF) Django views; synchronous (wrap with `sync_to_async` in async views). Any
  invalid credential gives None.
- `request_principal(request) -> str | None`: cheap, no database or cache access. For a Bearer
  token with a valid signature, expiry, issuer and audience: `"user:<user id>"`; for a well-formed
  `X-API-Key`: `"apikey:<prefix>"`; otherwise None. For rate-limit keys only, never for access.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from .models import ApiKey, User
from .services.api_keys import api_key_authenticate, api_key_parse
from .tokens import TokenClaims, TokenInvalid, session_is_denied, token_decode

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


def authenticate_access_token(token: str) -> tuple[User, TokenClaims]:
    """Verify an access token end to end (signature, claims, denylist, active user); raise `TokenInvalid`."""
    claims = token_decode(token, expected_type="access")
    if session_is_denied(claims.sid):
        raise TokenInvalid("session revoked")
    user = User.objects.filter(pk=claims.sub, is_active=True).first()
    if user is None:
        raise TokenInvalid("user missing or inactive")
    return user, claims


class JWTAuthentication(BaseAuthentication):
    """DRF authentication with a Bearer access token (see the module docstring)."""

    def authenticate(self, request: Request) -> tuple[User, TokenClaims] | None:
        try:
            token = _bearer_token(request._request)
        except _Malformed as exc:
            raise InvalidToken("The Authorization header must be `Bearer <token>`.") from exc
        if token is None:
            return None
        try:
            return authenticate_access_token(token)
        except (TokenInvalid, ValueError) as exc:
            raise InvalidToken() from exc

    def authenticate_header(self, request: Request) -> str:
        return BEARER_CHALLENGE


class ApiKeyAuthentication(BaseAuthentication):
    """DRF authentication with an `X-API-Key` header (see the module docstring)."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        raw = request._request.META.get("HTTP_X_API_KEY")
        if raw is None:
            return None
        key = api_key_authenticate(raw_key=raw.strip())
        if key is None:
            raise InvalidApiKey()
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return BEARER_CHALLENGE


def authenticate_request(request: HttpRequest) -> User | None:
    """The user behind a plain Django request (Bearer, then API key, then session), or None. Sync."""
    try:
        token = _bearer_token(request)
    except _Malformed:
        return None
    if token is not None:
        try:
            user, _claims = authenticate_access_token(token)
        except (TokenInvalid, ValueError):
            return None
        return user
    raw = request.META.get("HTTP_X_API_KEY")
    if raw is not None:
        key = api_key_authenticate(raw_key=raw.strip())
        return key.user if key is not None else None
    session_user: Any = getattr(request, "user", AnonymousUser())
    if getattr(session_user, "is_authenticated", False) and getattr(session_user, "is_active", False):
        return session_user if isinstance(session_user, User) else User.objects.filter(pk=session_user.pk).first()
    return None


def request_principal(request: HttpRequest) -> str | None:
    """A rate-limit identity for the request without any I/O: `user:<id>`, `apikey:<prefix>` or None."""
    try:
        token = _bearer_token(request)
    except _Malformed:
        return None
    if token is not None:
        try:
            return f"user:{token_decode(token, expected_type='access').sub}"
        except TokenInvalid:
            return None
    raw = request.META.get("HTTP_X_API_KEY")
    if raw is not None:
        parsed = api_key_parse(raw.strip())
        return f"apikey:{parsed[0]}" if parsed else None
    return None
