"""API keys: `ak_<prefix>_<secret>`. The prefix is stored and shown; the secret only as SHA-256.

Each key that authenticates (or is created) is also remembered in the cache as
`prefix -> (secret hash, owner id)` for API_KEY_PRINCIPAL_TTL, so that the rate limiter can tell a
real key from a made-up one without a query (`principal_for_api_key`); revoking drops the entry.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from common.errors import Conflict, FieldError, NotFound, ValidationFailed

from .. import selectors
from .._utils import API_KEY_PREFIX, api_key_parse, secret_hash
from ..models import ApiKey, User
from ..throttles import CACHE_ERRORS
from .sessions import user_streams_recheck

logger = logging.getLogger(__name__)

PREFIX_HEX_CHARS = 12
LAST_USED_RESOLUTION = timedelta(minutes=1)
API_KEY_PRINCIPAL_PREFIX = "auth:apikey:"
API_KEY_PRINCIPAL_TTL = timedelta(minutes=15)


def _principal_remember(key: ApiKey) -> None:
    """Cache `prefix -> (secret hash, owner id)` until the key expires, at most API_KEY_PRINCIPAL_TTL."""
    ttl = API_KEY_PRINCIPAL_TTL.total_seconds()
    if key.expires_at is not None:
        ttl = min(ttl, (key.expires_at - timezone.now()).total_seconds())
    if ttl < 1:
        return
    try:
        cache.set(API_KEY_PRINCIPAL_PREFIX + key.prefix, (key.secret_hash, str(key.user_id)), timeout=int(ttl))
    except CACHE_ERRORS:  # only the rate limiter reads it: such a key then counts by client IP
        logger.warning("auth: could not cache the API key principal", exc_info=True)


def _principal_forget(prefixes: list[str]) -> None:
    if not prefixes:
        return
    try:
        cache.delete_many([API_KEY_PRINCIPAL_PREFIX + prefix for prefix in prefixes])
    except CACHE_ERRORS:
        logger.warning("auth: could not drop cached API key principals", exc_info=True)


def principal_for_api_key(raw_key: str) -> str | None:
    """`user:<owner id>` for a key that authenticated recently (cache only, no query); else None."""
    parsed = api_key_parse(raw_key)
    if parsed is None:
        return None
    prefix, secret = parsed
    entry = cache.get(API_KEY_PRINCIPAL_PREFIX + prefix)
    if not isinstance(entry, (tuple, list)) or len(entry) != 2:
        return None
    expected, owner = entry
    if not hmac.compare_digest(str(expected), secret_hash(secret)):
        return None
    return f"user:{owner}"


def api_key_create(*, user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Make a key for `user`; returns the row and the full key, which is never recoverable afterwards."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            "expires_at must be in the future.",
            errors=[FieldError(attr="expires_at", code="in_past", detail="Must be in the future.")],
        )
    prefix = secrets.token_hex(PREFIX_HEX_CHARS // 2)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        # Counted under the user's row lock, so parallel creates cannot all pass the limit.
        User._default_manager.select_for_update().filter(pk=user.pk).first()
        if selectors.api_key_active_count(user=user) >= settings.AUTH_API_KEYS_MAX_PER_USER:
            raise Conflict(
                f"At most {settings.AUTH_API_KEYS_MAX_PER_USER} active API keys per user; revoke one first.",
                code="api_key_limit_reached",
            )
        key = ApiKey.objects.create(
            user=user, name=name, prefix=prefix, secret_hash=secret_hash(secret), expires_at=expires_at
        )
    _principal_remember(key)
    return key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


def api_key_revoke(*, user: User, key_id: uuid.UUID | str) -> None:
    """Revoke one of `user`'s keys; a missing, foreign or already revoked key is `NotFound`."""
    active = ApiKey.objects.filter(id=key_id, user=user, revoked_at__isnull=True)
    prefixes = list(active.values_list("prefix", flat=True))
    if not active.update(revoked_at=timezone.now()):
        raise NotFound("No active API key with this id.", code="api_key_not_found")
    _principal_forget(prefixes)
    user_streams_recheck(user_ids=[user.pk])


def api_keys_revoke(*, user: User | None = None, key_ids: list[uuid.UUID] | None = None) -> int:
    """Revoke every active key of `user`, or the keys `key_ids` (the admin action); returns how many."""
    if user is None and key_ids is None:
        raise ValueError("api_keys_revoke needs user or key_ids")
    queryset = ApiKey.objects.filter(revoked_at__isnull=True)
    if user is not None:
        queryset = queryset.filter(user=user)
    if key_ids is not None:
        queryset = queryset.filter(pk__in=key_ids)
    revoked = list(queryset.values_list("prefix", "user_id"))
    count = queryset.update(revoked_at=timezone.now())
    _principal_forget([prefix for prefix, _owner in revoked])
    user_streams_recheck(user_ids=sorted({owner for _prefix, owner in revoked}, key=str))
    return count


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key (with its active user) that `raw_key` is, or None. Records use at most once a minute."""
    parsed = api_key_parse(raw_key)
    if parsed is None:
        return None
    prefix, secret = parsed
    key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    expected = key.secret_hash if key is not None else secret_hash("")
    matches = hmac.compare_digest(expected, secret_hash(secret))
    if key is None or not matches or not key.is_active or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    _principal_remember(key)
    return key
