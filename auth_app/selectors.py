"""Reads of the Auth API."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from ._utils import EmailNotAccepted, email_canonical
from .models import ApiKey, AuthSession, User


def session_list(*, user: User) -> QuerySet[AuthSession]:
    """The user's sessions that can still be used (not revoked, not expired)."""
    return AuthSession.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    """The user's keys that are not revoked (expired ones included, so they can be seen and revoked)."""
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True)


def api_key_active_count(*, user: User) -> int:
    """How many of the user's keys still work (not revoked, not expired); capped by AUTH_API_KEYS_MAX_PER_USER."""
    now = timezone.now()
    return ApiKey.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), user=user, revoked_at=None).count()


def user_active_ids(*, after: Any = None, limit: int) -> list[uuid.UUID]:
    """Up to `limit` ids of active users, in id order, after the id `after` (for paging through everyone)."""
    users = User.objects.filter(is_active=True).order_by("pk")
    if after is not None:
        users = users.filter(pk__gt=after)
    return list(users.values_list("pk", flat=True)[:limit])


def user_by_email(*, email: str) -> User | None:
    """The user with this address (compared in its one canonical form, as login does), or None."""
    try:
        address = email_canonical(email)
    except EmailNotAccepted:
        return None
    return User.objects.filter(email=address).first()
