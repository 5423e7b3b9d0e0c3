"""API keys: `ak_<prefix>_<secret>`. The prefix is stored and shown; the secret only as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from common.errors import Conflict, FieldError, NotFound, ValidationFailed

from ..models import ApiKey, User

API_KEY_PREFIX = "ak"
PREFIX_HEX_CHARS = 12
_KEY_RE = re.compile(r"^ak_([0-9a-f]{12})_([A-Za-z0-9_-]{32,128})$")
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_parse(raw_key: str) -> tuple[str, str] | None:
    """Split a presented key into (prefix, secret) without touching the database; None if malformed."""
    match = _KEY_RE.match(raw_key or "")
    return (match.group(1), match.group(2)) if match else None


def api_key_create(*, user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Make a key for `user`; returns the row and the full key, which is never recoverable afterwards."""
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed(
            "expires_at must be in the future.",
            errors=[FieldError(attr="expires_at", code="in_past", detail="Must be in the future.")],
        )
    active = ApiKey.objects.filter(user=user, revoked_at__isnull=True).exclude(expires_at__lte=now).count()
    if active >= settings.AUTH_API_KEYS_MAX_PER_USER:
        raise Conflict(
            f"At most {settings.AUTH_API_KEYS_MAX_PER_USER} active API keys per user; revoke one first.",
            code="api_key_limit_reached",
        )
    prefix = secrets.token_hex(PREFIX_HEX_CHARS // 2)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user, name=name, prefix=prefix, secret_hash=_secret_hash(secret), expires_at=expires_at
    )
    return key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


def api_key_revoke(*, user: User, key_id: uuid.UUID | str) -> None:
    """Revoke one of `user`'s keys; a missing, foreign or already revoked key is `NotFound`."""
    if not ApiKey.objects.filter(id=key_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        raise NotFound("No active API key with this id.", code="api_key_not_found")


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key (with its active user) that `raw_key` is, or None. Records use at most once a minute."""
    parsed = api_key_parse(raw_key)
    if parsed is None:
        return None
    prefix, secret = parsed
    key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    expected = key.secret_hash if key is not None else _secret_hash("")
    matches = hmac.compare_digest(expected, _secret_hash(secret))
    if key is None or not matches or not key.is_active or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
