"""Device tokens (OWASP "device cookies"): "this client logged in successfully as this account before".

A client presenting a valid device token of the account it logs in as is not subject to the
account-wide lockout (strangers' guesses cannot keep the owner out); it has its own small budget per
device instead (auth_app.throttles). The token is signed (django.core.signing, salted), names the
user and a random device id, expires after AUTH_DEVICE_TOKEN_TTL and carries a fingerprint of the
account's password hash and email, so a new password (change, reset, admin) or a new address
invalidates every device token of the account.

Browsers get it as the HttpOnly cookie `auth_device`; API clients get it as `device_token` in the
login response and send it back in the `X-Device-Token` header (either is accepted on any login).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase
from django.utils.crypto import constant_time_compare, salted_hmac

from ._utils import EmailNotAccepted, email_canonical
from .models import User

DEVICE_COOKIE = "auth_device"
DEVICE_HEADER = "X-Device-Token"
_SALT = "auth_app.device"
_MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True)
class Device:
    user_id: str
    device_id: str


def _fingerprint(user: User) -> str:
    return salted_hmac(_SALT, f"{user.password}\x00{user.email}", algorithm="sha256").hexdigest()[:32]


def device_token_issue(*, user: User, device_id: str | None = None) -> str:
    """A new device token for `user` (keeping `device_id` when the client already had one)."""
    payload = {"u": str(user.pk), "d": device_id or secrets.token_hex(16), "f": _fingerprint(user)}
    return signing.dumps(payload, salt=_SALT, compress=False)


def device_token_from_request(request: HttpRequest | None) -> str | None:
    """The device token the client sent: the `X-Device-Token` header, else the `auth_device` cookie."""
    if request is None:
        return None
    token = request.headers.get(DEVICE_HEADER) or request.COOKIES.get(DEVICE_COOKIE)
    return token if token and len(token) <= _MAX_TOKEN_LENGTH else None


def device_token_verify(*, token: str | None, email: str) -> Device | None:
    """The device, when `token` is a valid, unexpired device token of the active account `email` names."""
    if not token:
        return None
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.AUTH_DEVICE_TOKEN_TTL)
        address = email_canonical(email)
    except (signing.BadSignature, EmailNotAccepted):
        return None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in ("u", "d", "f")):
        return None
    user = User.objects.filter(pk=payload["u"], email=address, is_active=True).only("pk", "email", "password").first()
    if user is None or not constant_time_compare(payload["f"], _fingerprint(user)):
        return None
    return Device(user_id=str(user.pk), device_id=payload["d"])


def device_cookie_set(response: HttpResponseBase, token: str) -> None:
    """Set the device cookie: HttpOnly, SameSite=Strict, Secure when the session cookie is."""
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=int(settings.AUTH_DEVICE_TOKEN_TTL.total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
