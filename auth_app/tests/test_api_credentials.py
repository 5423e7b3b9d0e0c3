"""Sessions and API keys: list, revoke, ownership, and X-API-Key authentication."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from auth_app.models import ApiKey
from auth_app.services import api_key_create, auth_session_start
from auth_app.tokens import token_decode

from .conftest import API, bearer

pytestmark = pytest.mark.django_db


def test_sessions_list_shows_active_sessions_and_marks_the_current_one(api_client, user, other_user):
    mine = auth_session_start(user=user, user_agent="curl/8", ip_address="203.0.113.7")
    auth_session_start(user=user)
    auth_session_start(user=other_user)
    body = bearer(api_client, mine["access"]).get(f"{API}/sessions").json()
    assert len(body["items"]) == 2 and body["has_more"] is False
    current = [item for item in body["items"] if item["current"]]
    assert len(current) == 1
    assert current[0]["id"] == token_decode(mine["access"], expected_type="access").sid
    assert current[0]["user_agent"] == "curl/8" and current[0]["ip_address"] == "203.0.113.7"


def test_sessions_list_paginates_and_sorts(api_client, user):
    pair = auth_session_start(user=user)
    for _ in range(3):
        auth_session_start(user=user)
    first = bearer(api_client, pair["access"]).get(f"{API}/sessions", {"limit": "3", "sort": "created_at"}).json()
    assert len(first["items"]) == 3 and first["has_more"] is True
    rest = api_client.get(f"{API}/sessions", {"limit": "3", "cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["has_more"] is False
    bad = api_client.get(f"{API}/sessions", {"sort": "user_agent"})
    assert bad.status_code == 400


def test_deleting_a_session_kills_its_tokens(api_client, user):
    mine = auth_session_start(user=user)
    victim = auth_session_start(user=user)
    sid = token_decode(victim["access"], expected_type="access").sid
    assert bearer(api_client, mine["access"]).delete(f"{API}/sessions/{sid}").status_code == 204
    assert api_client.delete(f"{API}/sessions/{sid}").status_code == 404
    assert bearer(api_client, victim["access"]).get(f"{API}/users/me").status_code == 401
    api_client.credentials()
    assert api_client.post(f"{API}/refresh", {"refresh": victim["refresh"]}, format="json").status_code == 401


def test_another_users_session_is_404(api_client, user, other_user):
    theirs = auth_session_start(user=other_user)
    sid = token_decode(theirs["access"], expected_type="access").sid
    response = bearer(api_client, auth_session_start(user=user)["access"]).delete(f"{API}/sessions/{sid}")
    assert response.status_code == 404
    assert bearer(api_client, theirs["access"]).get(f"{API}/users/me").status_code == 200


def test_api_key_is_shown_once_stored_hashed_and_authenticates(auth_client, api_client, user):
    created = auth_client.post(f"{API}/api-keys", {"name": "CI"}, format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(f"ak_{created.json()['prefix']}_")
    row = ApiKey.objects.get(pk=created.json()["id"])
    assert key.split("_", 2)[2] not in row.secret_hash and len(row.secret_hash) == 64
    listed = auth_client.get(f"{API}/api-keys").json()["items"]
    assert [item["id"] for item in listed] == [str(row.pk)] and "key" not in listed[0]
    api_client.credentials(HTTP_X_API_KEY=key)
    me = api_client.get(f"{API}/users/me")
    assert me.status_code == 200 and me.json()["id"] == str(user.pk)
    row.refresh_from_db()
    assert row.last_used_at is not None


@pytest.mark.parametrize("mutate", ["wrong_secret", "unknown_prefix", "garbage"])
def test_bad_api_keys_are_401(api_client, user, mutate):
    _, key = api_key_create(user=user, name="k")
    bad = {
        "wrong_secret": key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB"),
        "unknown_prefix": "ak_000000000000_" + key.split("_", 2)[2],
        "garbage": "hello",
    }[mutate]
    api_client.credentials(HTTP_X_API_KEY=bad)
    response = api_client.get(f"{API}/users/me")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_revoked_and_expired_api_keys_stop_working(auth_client, api_client, user):
    row, key = api_key_create(user=user, name="k")
    assert auth_client.delete(f"{API}/api-keys/{row.pk}").status_code == 204
    assert auth_client.delete(f"{API}/api-keys/{row.pk}").status_code == 404
    api_client.credentials(HTTP_X_API_KEY=key)
    assert api_client.get(f"{API}/users/me").status_code == 401
    row2, key2 = api_key_create(user=user, name="short", expires_at=timezone.now() + timedelta(minutes=5))
    ApiKey.objects.filter(pk=row2.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    api_client.credentials(HTTP_X_API_KEY=key2)
    assert api_client.get(f"{API}/users/me").status_code == 401


def test_another_users_api_key_is_404(auth_client, other_user):
    row, _ = api_key_create(user=other_user, name="theirs")
    assert auth_client.delete(f"{API}/api-keys/{row.pk}").status_code == 404
    assert ApiKey.objects.get(pk=row.pk).revoked_at is None


def test_api_key_cannot_create_api_keys(api_client, user):
    _, key = api_key_create(user=user, name="k")
    api_client.credentials(HTTP_X_API_KEY=key)
    assert api_client.get(f"{API}/api-keys").status_code == 200
    assert api_client.post(f"{API}/api-keys", {"name": "more"}, format="json").status_code == 403


def test_api_key_expiry_must_be_in_the_future_and_count_is_capped(auth_client, settings):
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert auth_client.post(f"{API}/api-keys", {"name": "k", "expires_at": past}, format="json").status_code == 400
    settings.AUTH_API_KEYS_MAX_PER_USER = 1
    assert auth_client.post(f"{API}/api-keys", {"name": "a"}, format="json").status_code == 201
    capped = auth_client.post(f"{API}/api-keys", {"name": "b"}, format="json")
    assert capped.status_code == 409 and capped.json()["code"] == "api_key_limit_reached"
