"""Issue 9 items 1 and 2: every password door shares one set of attempt limits, and strangers cannot keep
the owner out (device tokens, per (account, IP) limits, a password reset that clears the lockout)."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from auth_app.devices import DEVICE_COOKIE, device_token_issue

from .conftest import API

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


def api_login(email: str, password: str, *, ip: str = OWNER, device: str | None = None, client=None):
    headers = {"X-Device-Token": device} if device else {}
    return (client or APIClient()).post(
        f"{API}/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip, headers=headers
    )


def admin_login(email: str, password: str, *, ip: str = OWNER, client: Client | None = None):
    return (client or Client()).post(
        "/admin/login/?next=/admin/", {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def lock_out(email: str, *, ip: str = ATTACKER, times: int = 5) -> None:
    for _ in range(times):
        assert api_login(email, "a-wrong-guess", ip=ip).status_code == 401


# --- Item 1: the admin login -------------------------------------------------------------------------


def test_admin_login_brute_force_is_limited_and_the_right_password_then_fails_too(rate_limits_on, staff_user, password):
    rate_limits_on.AUTH_LOGIN_RATE_PER_IP = "100/m"
    statuses = [admin_login(staff_user.email, f"wrong-{i}").status_code for i in range(7)]
    assert statuses == [200] * 5 + [429, 429]  # 200: the form again with "invalid", then refused
    client = Client()
    right = admin_login(staff_user.email, password, client=client)
    assert right.status_code == 429
    assert "Retry-After" in right
    assert b"Too many attempts" in right.content
    assert "_auth_user_id" not in client.session
    assert api_login(staff_user.email, password).status_code == 429  # the same lockout through the API door


def test_api_failures_lock_the_admin_door_too(rate_limits_on, staff_user, password):
    lock_out(staff_user.email, ip=OWNER)
    client = Client()
    assert admin_login(staff_user.email, password, client=client).status_code == 429
    assert "_auth_user_id" not in client.session


def test_admin_and_api_logins_share_the_per_ip_limit(rate_limits_on, staff_user, password):
    rate_limits_on.AUTH_LOGIN_RATE_PER_IP = "3/m"
    for _ in range(3):
        admin_login(staff_user.email, "wrong", ip=ATTACKER)
    assert api_login(staff_user.email, password, ip=ATTACKER).status_code == 429
    assert api_login(staff_user.email, password, ip=OWNER).status_code == 200


def test_admin_login_works_and_sets_the_device_cookie(rate_limits_on, staff_user, password):
    client = Client()
    response = admin_login(staff_user.email, password, client=client)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(staff_user.pk)
    assert response.cookies[DEVICE_COOKIE]["httponly"]
    assert client.get("/admin/").status_code == 200


def test_a_non_staff_user_cannot_use_the_admin_login(rate_limits_on, user, password):
    client = Client()
    response = admin_login(user.email, password, client=client)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# --- Item 2: the owner gets in -----------------------------------------------------------------------


def test_a_strangers_guesses_lock_strangers_out_but_not_the_owners_device(rate_limits_on, user, password):
    first = api_login(user.email, password)
    assert first.status_code == 200
    device = first.json()["device_token"]
    assert first.cookies[DEVICE_COOKIE].value == device
    assert first["Cache-Control"] == "no-store"
    lock_out(user.email)
    assert api_login(user.email, password, ip=OWNER).status_code == 429  # without the device token
    again = api_login(user.email, password, ip=ATTACKER, device=device)  # any IP: the token is the proof
    assert again.status_code == 200
    reissued = signing.loads(again.json()["device_token"], salt="auth_app.device")
    assert reissued["d"] == signing.loads(device, salt="auth_app.device")["d"]  # re-issued, same device id


def test_the_device_cookie_works_like_the_header(rate_limits_on, user, password):
    client = APIClient()
    assert api_login(user.email, password, client=client).status_code == 200  # the cookie is kept by the client
    lock_out(user.email)
    assert api_login(user.email, password, client=client).status_code == 200
    assert api_login(user.email, password).status_code == 429


def test_the_owners_device_signs_in_through_the_admin_and_the_browser_page(rate_limits_on, staff_user, password):
    client = Client()
    assert admin_login(staff_user.email, password, client=client).status_code == 302
    client.post("/admin/logout/")
    lock_out(staff_user.email)
    assert admin_login(staff_user.email, password, client=client).status_code == 302
    response = client.post("/accounts/login", {"username": staff_user.email, "password": password})
    assert response.status_code == 302
    assert admin_login(staff_user.email, password).status_code == 429  # a browser without the cookie


def test_a_device_token_of_another_account_or_a_forged_one_does_not_exempt(rate_limits_on, user, other_user, password):
    others = api_login(other_user.email, password).json()["device_token"]
    lock_out(user.email)
    assert api_login(user.email, password, device=others).status_code == 429
    forged = device_token_issue(user=user)[:-2] + "xx"
    assert api_login(user.email, password, device=forged).status_code == 429


def test_a_device_has_its_own_small_budget(rate_limits_on, user, password):
    rate_limits_on.AUTH_LOGIN_FAILURES_PER_DEVICE = "3/5m"
    device = api_login(user.email, password).json()["device_token"]
    statuses = [api_login(user.email, "wrong", device=device).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert api_login(user.email, password, device=device).status_code == 429  # a stolen token: few guesses
    assert api_login(user.email, password).status_code == 200  # its guesses did not lock the account


def test_a_new_password_invalidates_every_device_token(rate_limits_on, user, password):
    device = api_login(user.email, password).json()["device_token"]
    user.set_password("a-brand-new-passphrase-9")
    user.save()
    lock_out(user.email)
    assert api_login(user.email, "a-brand-new-passphrase-9", device=device).status_code == 429


def test_limits_per_account_and_ip(rate_limits_on, user, password):
    rate_limits_on.AUTH_LOGIN_FAILURES_PER_ACCOUNT = "10/5m"
    rate_limits_on.AUTH_LOGIN_FAILURES_PER_ACCOUNT_IP = "2/5m"
    statuses = [api_login(user.email, "wrong", ip=ATTACKER).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert api_login(user.email, password, ip=ATTACKER).status_code == 429
    assert api_login(user.email, password, ip=OWNER).status_code == 200


def test_a_password_reset_clears_the_lockout(rate_limits_on, user, password):
    lock_out(user.email)
    assert api_login(user.email, password).status_code == 429
    confirm = APIClient().post(
        f"{API}/password/reset/confirm",
        {
            "uid": urlsafe_base64_encode(force_bytes(str(user.pk))),
            "token": default_token_generator.make_token(user),
            "new_password": "a-brand-new-passphrase-9",
        },
        format="json",
    )
    assert confirm.status_code == 204
    assert api_login(user.email, "a-brand-new-passphrase-9").status_code == 200
