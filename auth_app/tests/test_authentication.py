"""Rate-limit identity of API keys: only a verified key escapes the per-IP anonymous limit."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import pytest

from auth_app import tokens
from auth_app.services import api_key_create, api_key_revoke, auth_session_start

from .conftest import API

pytestmark = pytest.mark.django_db


@pytest.fixture
def global_limits(settings):
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_ANON = "3/15m"
    settings.RATE_LIMIT_USER = "1000/15m"
    return settings


def _random_key() -> str:
    return f"ak_{secrets.token_hex(6)}_{'a' * 43}"


def test_random_api_keys_are_limited_like_anonymous_requests(global_limits, api_client):
    responses = [api_client.get(f"{API}/users/me", HTTP_X_API_KEY=_random_key()) for _ in range(4)]
    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert all('"anon"' in r["RateLimit-Policy"] for r in responses)


def test_a_real_api_key_counts_against_its_owners_user_bucket(global_limits, api_client, user):
    _, key = api_key_create(user=user, name="ci")
    _, second_key = api_key_create(user=user, name="ci-2")
    access = auth_session_start(user=user)["access"]
    remaining = []
    for headers in (
        {"HTTP_X_API_KEY": key},
        {"HTTP_X_API_KEY": second_key},
        {"HTTP_AUTHORIZATION": f"Bearer {access}"},
        {"HTTP_X_API_KEY": key},
    ):
        response = api_client.get(f"{API}/users/me", **headers)
        assert response.status_code == 200
        assert '"user"' in response["RateLimit-Policy"]
        remaining.append(int(response["X-RateLimit-Remaining"]))
    assert remaining == [999, 998, 997, 996]  # one bucket for every credential of the user


def test_a_wrong_secret_for_a_real_prefix_and_a_revoked_key_count_by_ip(global_limits, api_client, user):
    row, key = api_key_create(user=user, name="ci")
    forged = key[: key.rindex("_") + 1] + "b" * 43
    assert api_client.get(f"{API}/users/me", HTTP_X_API_KEY=forged)["RateLimit-Policy"].startswith('"anon"')
    api_key_revoke(user=user, key_id=row.pk)
    response = api_client.get(f"{API}/users/me", HTTP_X_API_KEY=key)
    assert response.status_code == 401
    assert response["RateLimit-Policy"].startswith('"anon"')


# --- Verified tokens remembered per process (issue 8) -----------------------------------------------


def _minted(user, token_type: tokens.TokenType) -> tuple[str, datetime]:
    return tokens.token_encode(
        user_id=str(user.pk),
        sid=str(uuid.uuid4()),
        jti=tokens.new_jti(),
        token_type=token_type,
        lifetime=timedelta(minutes=5),
    )


def test_a_remembered_token_still_expires(user, monkeypatch):
    token, expires = _minted(user, "access")
    assert tokens.token_decode(token, expected_type="access").sub == str(user.pk)  # now remembered
    monkeypatch.setattr(tokens.time, "time", lambda: expires.timestamp() + 1)
    with pytest.raises(tokens.TokenInvalid):
        tokens.token_decode(token, expected_type="access")


def test_a_remembered_token_keeps_its_type(user):
    refresh, _ = _minted(user, "refresh")
    assert tokens.token_decode(refresh, expected_type="refresh")
    with pytest.raises(tokens.TokenInvalid):
        tokens.token_decode(refresh, expected_type="access")


def test_a_new_signing_key_refuses_tokens_remembered_under_the_old_one(user, settings):
    token, _ = _minted(user, "access")
    assert tokens.token_decode(token, expected_type="access")
    settings.JWT_SIGNING_KEY = "another-signing-key-of-enough-length-for-hs256"
    with pytest.raises(tokens.TokenInvalid):
        tokens.token_decode(token, expected_type="access")
