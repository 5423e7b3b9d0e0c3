"""Issue 9 items 6 and 7: responses carrying secrets are never stored; the email-taken oracle is limited."""

from __future__ import annotations

import pytest

from .conftest import API, bearer

pytestmark = pytest.mark.django_db


def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store", response.headers
    assert response["Pragma"] == "no-cache"


def test_token_and_key_responses_are_no_store(api_client, user, password):
    register = api_client.post(
        f"{API}/register", {"email": "new@example.com", "password": "a-long-passphrase-9"}, format="json"
    )
    assert register.status_code == 201
    assert_no_store(register)
    login = api_client.post(f"{API}/login", {"email": user.email, "password": password}, format="json")
    assert login.status_code == 200
    assert_no_store(login)
    refresh = api_client.post(f"{API}/refresh", {"refresh": login.json()["refresh"]}, format="json")
    assert refresh.status_code == 200
    assert_no_store(refresh)
    key = bearer(api_client, refresh.json()["access"]).post(f"{API}/api-keys", {"name": "ci"}, format="json")
    assert key.status_code == 201
    assert_no_store(key)


def test_failed_token_requests_are_no_store_too(api_client, user):
    response = api_client.post(f"{API}/login", {"email": user.email, "password": "wrong-one"}, format="json")
    assert response.status_code == 401
    assert_no_store(response)


def test_email_change_shares_the_registration_ip_budget(rate_limits_on, auth_client, api_client, password, other_user):
    rate_limits_on.AUTH_REGISTER_RATE_PER_IP = "3/h"
    probe = {"email": other_user.email, "current_password": password}
    statuses = [auth_client.patch(f"{API}/users/me", probe, format="json").status_code for _ in range(2)]
    assert statuses == [409, 409]
    new = {"email": "someone@example.com", "password": "a-long-passphrase-9"}
    assert api_client.post(f"{API}/register", new, format="json").status_code == 201  # the third of the budget
    response = auth_client.patch(f"{API}/users/me", probe, format="json")
    assert response.status_code == 429
    assert "Retry-After" in response
    assert auth_client.patch(f"{API}/users/me", {"name": "Still fine"}, format="json").status_code == 200
