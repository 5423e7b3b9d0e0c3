"""Register, login, refresh, logout: the HTTP surface and its abuse controls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.test import override_settings

from auth_app.models import AuthSession, User
from auth_app.services import auth_session_start
from auth_app.tokens import session_is_denied, token_decode

from .conftest import API, bearer

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "a-sturdy-passphrase-42"


def test_register_returns_user_and_token_pair(api_client):
    response = api_client.post(
        f"{API}/register", {"email": "New@Example.COM", "password": GOOD_PASSWORD, "name": "New"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"access", "refresh", "token_type", "expires_in", "user"}
    assert body["user"]["email"] == "new@example.com"
    assert AuthSession.objects.filter(user__email="new@example.com").count() == 1


def test_register_refuses_taken_email_without_regard_to_case(api_client, user):
    response = api_client.post(
        f"{API}/register", {"email": user.email.upper(), "password": GOOD_PASSWORD}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert response.json()["errors"][0]["attr"] == "email"


@pytest.mark.parametrize("password", ["short", "12345678901234", "password123"])
def test_register_applies_django_password_validators(api_client, password):
    response = api_client.post(f"{API}/register", {"email": "v@example.com", "password": password}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert {error["attr"] for error in response.json()["errors"]} == {"password"}


def test_thousand_character_password_works_without_truncation(api_client, real_password_hashers):
    password = "p" * 999 + "1"
    assert (
        api_client.post(
            f"{API}/register", {"email": "long@example.com", "password": password}, format="json"
        ).status_code
        == 201
    )
    ok = api_client.post(f"{API}/login", {"email": "long@example.com", "password": password}, format="json")
    assert ok.status_code == 200
    truncated = api_client.post(
        f"{API}/login", {"email": "long@example.com", "password": password[:-1] + "2"}, format="json"
    )
    assert truncated.status_code == 401


def test_password_longer_than_the_setting_is_400(api_client, settings, user):
    settings.AUTH_PASSWORD_MAX_LENGTH = 64
    for path, body in [
        ("register", {"email": "x@example.com", "password": "p" * 65}),
        ("login", {"email": user.email, "password": "p" * 65}),
    ]:
        response = api_client.post(f"{API}/{path}", body, format="json")
        assert response.status_code == 400, path
        assert response.json()["errors"][0]["attr"] == "password"


def test_login_failures_are_one_generic_401(api_client, user, login):
    wrong_password = login(pw="not-the-password")
    missing_account = login(email="nobody@example.com", pw="not-the-password")
    assert wrong_password.status_code == missing_account.status_code == 401
    assert wrong_password.json() == missing_account.json()
    assert wrong_password.json()["code"] == "invalid_credentials"
    assert wrong_password["Content-Type"] == missing_account["Content-Type"] == "application/problem+json"


def test_inactive_user_gets_the_same_401(api_client, user, login, password):
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert login().json() == login(email="nobody@example.com").json()


def test_unknown_email_still_runs_the_password_hasher(monkeypatch, login, db):
    """Django's ModelBackend hashes the password for unknown users (no timing shortcut)."""
    from django.contrib.auth import hashers

    calls: list[str] = []
    original = hashers.make_password

    def spy(password, *args, **kwargs):
        calls.append(password)
        return original(password, *args, **kwargs)

    monkeypatch.setattr("django.contrib.auth.base_user.make_password", spy)
    assert login(email="ghost@example.com", pw="whatever-it-is").status_code == 401
    assert calls == ["whatever-it-is"]


def test_old_hash_is_upgraded_to_argon2id_on_login(user, password, login, real_password_hashers):
    User.objects.filter(pk=user.pk).update(password=make_password(password, hasher="pbkdf2_sha256"))
    assert login().status_code == 200
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_login_per_account_lockout_then_429_even_with_right_password(rate_limits_on, user, login):
    for _ in range(5):
        assert login(pw="wrong-password").status_code == 401
    locked = login()
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/problem+json"
    assert int(locked["Retry-After"]) > 0
    assert "RateLimit" in locked and "RateLimit-Policy" in locked
    # The same lock applies to an address without an account: no enumeration through 429 either.
    for _ in range(5):
        login(email="nobody@example.com", pw="wrong-password")
    assert login(email="nobody@example.com", pw="wrong-password").status_code == 429


def test_successful_logins_do_not_count_towards_the_lockout(rate_limits_on, user, login):
    rate_limits_on.AUTH_LOGIN_RATE_PER_IP = "100/m"
    for _ in range(8):
        assert login().status_code == 200


def test_login_is_limited_per_ip(rate_limits_on, user, login):
    rate_limits_on.AUTH_LOGIN_RATE_PER_IP = "3/m"
    statuses = [login(email=f"u{i}@example.com", pw="wrong").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_register_and_refresh_are_limited_per_ip(rate_limits_on, api_client, user):
    rate_limits_on.AUTH_REGISTER_RATE_PER_IP = "1/h"
    rate_limits_on.AUTH_REFRESH_RATE_PER_IP = "1/m"
    first = api_client.post(f"{API}/register", {"email": "r1@example.com", "password": GOOD_PASSWORD}, format="json")
    second = api_client.post(f"{API}/register", {"email": "r2@example.com", "password": GOOD_PASSWORD}, format="json")
    assert (first.status_code, second.status_code) == (201, 429)
    refresh = first.json()["refresh"]
    assert api_client.post(f"{API}/refresh", {"refresh": refresh}, format="json").status_code == 200
    assert api_client.post(f"{API}/refresh", {"refresh": refresh}, format="json").status_code == 429


def test_refresh_rotates_and_keeps_the_session(api_client, tokens):
    response = api_client.post(f"{API}/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    new = response.json()
    old_claims = token_decode(tokens["refresh"], expected_type="refresh")
    new_claims = token_decode(new["refresh"], expected_type="refresh")
    assert new_claims.sid == old_claims.sid and new_claims.jti != old_claims.jti
    session = AuthSession.objects.get(pk=new_claims.sid)
    assert session.refresh_jti == new_claims.jti and session.previous_jti == old_claims.jti


def test_access_token_is_not_a_refresh_token(api_client, tokens):
    response = api_client.post(f"{API}/refresh", {"refresh": tokens["access"]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_retired_refresh_token_within_grace_keeps_the_family(api_client, tokens):
    new = api_client.post(f"{API}/refresh", {"refresh": tokens["refresh"]}, format="json").json()
    replay = api_client.post(f"{API}/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert replay.status_code == 401
    assert api_client.post(f"{API}/refresh", {"refresh": new["refresh"]}, format="json").status_code == 200


def test_reuse_after_grace_revokes_the_whole_family(api_client, tokens, settings):
    settings.JWT_REFRESH_REUSE_GRACE = timedelta(seconds=0)
    new = api_client.post(f"{API}/refresh", {"refresh": tokens["refresh"]}, format="json").json()
    sid = token_decode(new["refresh"], expected_type="refresh").sid
    replay = api_client.post(f"{API}/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert replay.status_code == 401
    session = AuthSession.objects.get(pk=sid)
    assert session.revoked_at is not None and session.revoked_reason == "reuse_detected"
    # The thief's replay also killed the legitimate holder's newer tokens.
    assert api_client.post(f"{API}/refresh", {"refresh": new["refresh"]}, format="json").status_code == 401
    assert bearer(api_client, new["access"]).get(f"{API}/users/me").status_code == 401


def test_access_token_dies_on_logout_on_the_very_next_request(api_client, tokens):
    bearer(api_client, tokens["access"])
    assert api_client.get(f"{API}/users/me").status_code == 200
    assert api_client.post(f"{API}/logout", {}, format="json").status_code == 204
    assert session_is_denied(token_decode(tokens["access"], expected_type="access").sid)
    after = api_client.get(f"{API}/users/me")
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_token"


def test_logout_with_refresh_of_another_own_session_ends_both(api_client, user, tokens):
    other = auth_session_start(user=user)
    bearer(api_client, tokens["access"]).post(f"{API}/logout", {"refresh": other["refresh"]}, format="json")
    assert bearer(api_client, other["access"]).get(f"{API}/users/me").status_code == 401


def test_logout_needs_a_bearer_token(api_client):
    response = api_client.post(f"{API}/logout", {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_logout_all_ends_every_session(api_client, user):
    pairs = [auth_session_start(user=user) for _ in range(3)]
    assert bearer(api_client, pairs[0]["access"]).post(f"{API}/logout-all").status_code == 204
    for pair in pairs:
        assert bearer(api_client, pair["access"]).get(f"{API}/users/me").status_code == 401
        api_client.credentials()
        assert api_client.post(f"{API}/refresh", {"refresh": pair["refresh"]}, format="json").status_code == 401


@override_settings(JWT_ACCESS_TTL=timedelta(seconds=1))
def test_expires_in_follows_the_setting(user):
    assert auth_session_start(user=user)["expires_in"] == 1
