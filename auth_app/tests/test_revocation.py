"""Revocation that must hold for as long as the credential could: refresh reuse, the access denylist,
and deactivated users."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from auth_app.models import AuthSession
from auth_app.tokens import DENYLIST_PREFIX, token_decode

from .conftest import API, bearer

pytestmark = pytest.mark.django_db


def _refresh(api_client, refresh: str):
    return api_client.post(f"{API}/refresh", {"refresh": refresh}, format="json")


def test_an_older_than_last_refresh_token_inside_the_grace_window_is_reuse(api_client, tokens):
    """Only the token retired by the last rotation gets the benign-race 401; one retired before it is a
    replay (it cannot be a parallel request of the current holder) and revokes the family."""
    second = _refresh(api_client, tokens["refresh"]).json()
    third = _refresh(api_client, second["refresh"]).json()
    sid = token_decode(third["refresh"], expected_type="refresh").sid
    replay = _refresh(api_client, tokens["refresh"])  # well inside JWT_REFRESH_REUSE_GRACE
    assert replay.status_code == 401
    session = AuthSession.objects.get(pk=sid)
    assert session.revoked_at is not None and session.revoked_reason == "reuse_detected"
    assert _refresh(api_client, third["refresh"]).status_code == 401


def test_the_just_retired_refresh_token_inside_the_grace_window_keeps_the_family(api_client, tokens):
    second = _refresh(api_client, tokens["refresh"]).json()
    third = _refresh(api_client, second["refresh"]).json()
    assert _refresh(api_client, second["refresh"]).status_code == 401
    assert AuthSession.objects.get(pk=token_decode(third["refresh"], expected_type="refresh").sid).revoked_at is None
    assert _refresh(api_client, third["refresh"]).status_code == 200


def _cache_ttl(key: str) -> float:
    """Seconds the cache will keep `key`, read from the backend itself (Redis TTL, or LocMem's expiry table)."""
    backend: Any = cache
    full_key = backend.make_and_validate_key(key)
    if hasattr(backend, "_expire_info"):  # LocMemCache
        return float(backend._expire_info[full_key] - time.time())
    client = backend._cache.get_client(full_key)  # django.core.cache.backends.redis.RedisCache
    return float(client.pttl(full_key)) / 1000


def test_the_access_denylist_entry_outlives_every_access_token_of_the_session(api_client, tokens):
    """Checked by the cache's own TTL, not by waiting: the entry must last at least as long as the
    access token just issued has left, however long JWT_ACCESS_TTL is."""
    claims = token_decode(tokens["access"], expected_type="access")
    assert bearer(api_client, tokens["access"]).post(f"{API}/logout", {}, format="json").status_code == 204
    ttl = _cache_ttl(DENYLIST_PREFIX + claims.sid)
    assert ttl >= claims.exp - time.time()
    assert ttl >= django_settings.JWT_ACCESS_TTL.total_seconds() - 5


def test_a_deactivated_users_unexpired_access_token_is_refused(api_client, user, tokens):
    client = bearer(api_client, tokens["access"])
    assert client.get(f"{API}/users/me").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    refused = client.get(f"{API}/users/me")
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
