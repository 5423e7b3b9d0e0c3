"""Reads of the Auth API."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

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
