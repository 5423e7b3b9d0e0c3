"""Issue 9 item 1: the browser sign-in page for any user (/accounts/login, /accounts/logout)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from auth_app.devices import DEVICE_COOKIE

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str, password: str, next_url: str | None = None):
    data = {"username": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/accounts/login", data)


def test_login_url_is_the_sign_in_page():
    assert settings.LOGIN_URL == "/accounts/login"


def test_the_page_renders_with_only_local_assets():
    response = Client().get("/accounts/login?next=/api/v1/bins")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'value="/api/v1/bins"' in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)  # nothing from another host
    assert "Content-Security-Policy" in response
    assert 'href="/static/auth_app/accounts.css"' in html
    assert finders.find("auth_app/accounts.css")


def test_any_user_signs_in_and_is_sent_to_a_safe_next(user, password):
    client = Client()
    response = sign_in(client, user.email.upper(), password, next_url="/api/v1/bins?x=1")
    assert response.status_code == 302
    assert response["Location"] == "/api/v1/bins?x=1"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert response.cookies[DEVICE_COOKIE]["httponly"]
    page = client.get("/accounts/login")
    assert f"Signed in as <strong>{user.email}</strong>".encode() in page.content


@pytest.mark.parametrize(
    "unsafe",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "http:evil.example"],
)
def test_an_unsafe_next_is_ignored(user, password, unsafe):
    response = sign_in(Client(), user.email, password, next_url=unsafe)
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL


def test_a_wrong_password_shows_the_form_again(user):
    client = Client()
    response = sign_in(client, user.email, "not-the-password")
    assert response.status_code == 200
    assert b"Invalid email or password." in response.content
    assert "_auth_user_id" not in client.session


def test_the_page_shares_the_api_login_limits(rate_limits_on, user, password):
    statuses = [sign_in(Client(), user.email, "wrong").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = sign_in(Client(), user.email, password)
    assert response.status_code == 429
    assert "Retry-After" in response
    login = {"email": user.email, "password": password}
    response = Client().post("/api/v1/auth/login", login, content_type="application/json")
    assert response.status_code == 429


def test_a_look_alike_spelling_does_not_sign_in(user, password, django_user_model):
    django_user_model.objects.create_user(email="missis1@example.com", password=password)
    response = sign_in(Client(), "miſſiſ1@example.com", password)  # NFKC would make it missis1@
    assert response.status_code == 200
    assert b"Invalid email or password." in response.content


def test_sign_out_is_post_only_with_csrf(user, password):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login")
    token = page.cookies[settings.CSRF_COOKIE_NAME].value
    assert sign_in(client, user.email, password).status_code == 403  # the sign-in form needs the token too
    client.post("/accounts/login", {"username": user.email, "password": password, "csrfmiddlewaretoken": token})
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/accounts/logout").status_code == 405
    assert client.post("/accounts/logout").status_code == 403
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/accounts/logout", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
