"""The admin pages for users, sessions and API keys render, and show no secrets."""

from __future__ import annotations

import pytest

from auth_app.services import api_key_create, auth_session_start

pytestmark = pytest.mark.django_db


def test_user_admin_pages(admin_client, user):
    assert admin_client.get("/admin/auth_app/user/").status_code == 200
    assert admin_client.get("/admin/auth_app/user/add/").status_code == 200
    assert admin_client.get(f"/admin/auth_app/user/{user.pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/auth_app/user/{user.pk}/password/").status_code == 200


def test_admin_can_add_a_user_with_a_password(admin_client, django_user_model):
    response = admin_client.post(
        "/admin/auth_app/user/add/",
        {
            "email": "new@example.com",
            "name": "New",
            "password1": "a-long-admin-pass-9",
            "password2": "a-long-admin-pass-9",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert django_user_model.objects.get(email="new@example.com").check_password("a-long-admin-pass-9")


def test_session_and_api_key_admin_show_no_secrets(admin_client, user):
    auth_session_start(user=user)
    key, raw = api_key_create(user=user, name="ci")
    sessions = admin_client.get("/admin/auth_app/authsession/")
    keys = admin_client.get("/admin/auth_app/apikey/")
    detail = admin_client.get(f"/admin/auth_app/apikey/{key.pk}/change/")
    assert sessions.status_code == keys.status_code == detail.status_code == 200
    secret = raw.split("_", 2)[2]
    for page in (keys, detail):
        assert secret.encode() not in page.content
        assert key.secret_hash.encode() not in page.content
        assert key.prefix.encode() in page.content


def test_admin_password_change_ends_every_session_and_revokes_api_keys(admin_client, api_client, user):
    pair = auth_session_start(user=user)
    _, key = api_key_create(user=user, name="ci")
    response = admin_client.post(
        f"/admin/auth_app/user/{user.pk}/password/",
        {"password1": "an-admin-chosen-pass-9", "password2": "an-admin-chosen-pass-9", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert user.check_password("an-admin-chosen-pass-9")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api_client.get("/api/v1/auth/users/me").status_code == 401
    api_client.credentials(HTTP_X_API_KEY=key)
    assert api_client.get("/api/v1/auth/users/me").status_code == 401
