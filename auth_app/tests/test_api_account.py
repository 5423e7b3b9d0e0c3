"""users/me, password change and password reset."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from auth_app.models import User
from auth_app.services import auth_session_start
from auth_app.views.account import RESET_ACCEPTED

from .conftest import API, bearer

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-77"


def test_me_returns_the_caller(auth_client, user):
    body = auth_client.get(f"{API}/users/me").json()
    assert body["id"] == str(user.pk) and body["email"] == user.email
    assert "password" not in body


def test_me_without_credentials_is_401(api_client):
    response = api_client.get(f"{API}/users/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_patch_me_changes_the_name_without_a_password(auth_client, user):
    response = auth_client.patch(f"{API}/users/me", {"name": "Ada K"}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.name == "Ada K"


def test_email_change_needs_the_current_password_notifies_the_old_address_and_ends_other_sessions(
    api_client, user, password, django_capture_on_commit_callbacks
):
    mine, other = auth_session_start(user=user), auth_session_start(user=user)
    bearer(api_client, mine["access"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(
            f"{API}/users/me",
            {"name": "Ada K", "email": "Ada.K@Example.com", "current_password": password},
            format="json",
        )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert (user.name, user.email) == ("Ada K", "ada.k@example.com")
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert "ada.k@example.com" in str(mail.outbox[0].body)
    assert api_client.get(f"{API}/users/me").status_code == 200
    assert bearer(api_client, other["access"]).get(f"{API}/users/me").status_code == 401


def test_email_change_without_the_current_password_is_400(auth_client, user):
    response = auth_client.patch(f"{API}/users/me", {"email": "new@example.com"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert [error["attr"] for error in response.json()["errors"]] == ["current_password"]
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_email_change_with_a_wrong_password_is_400_and_is_limited_per_session(
    rate_limits_on, auth_client, user, password, login
):
    rate_limits_on.AUTH_LOGIN_FAILURES_PER_DEVICE = "2/5m"
    wrong = {"email": "new@example.com", "current_password": "not-the-password"}
    statuses = [auth_client.patch(f"{API}/users/me", wrong, format="json") for _ in range(3)]
    assert [r.status_code for r in statuses] == [400, 400, 429]
    assert statuses[0].json()["code"] == "wrong_password"
    assert "Retry-After" in statuses[2]
    # The session's own counter (the owner's client, like a device token): not the account-wide lockout.
    assert login().status_code == 200
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_patch_me_refuses_an_email_taken_in_any_case(auth_client, other_user, password):
    response = auth_client.patch(
        f"{API}/users/me", {"email": other_user.email.upper(), "current_password": password}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


def test_patch_me_never_changes_the_password(auth_client, user, password):
    response = auth_client.patch(f"{API}/users/me", {"password": "sneaky-new-password-1"}, format="json")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(password)


def test_password_change_revokes_every_other_session(api_client, user, password):
    mine = auth_session_start(user=user)
    others = [auth_session_start(user=user) for _ in range(2)]
    response = bearer(api_client, mine["access"]).post(
        f"{API}/password/change", {"current_password": password, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    assert api_client.get(f"{API}/users/me").status_code == 200
    for pair in others:
        assert bearer(api_client, pair["access"]).get(f"{API}/users/me").status_code == 401
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_change_needs_the_current_password(auth_client, user, password):
    response = auth_client.post(
        f"{API}/password/change", {"current_password": "not-it", "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_password"


def test_password_change_with_an_api_key_is_refused(api_client, user, password):
    from auth_app.services import api_key_create

    _, key = api_key_create(user=user, name="ci")
    api_client.credentials(HTTP_X_API_KEY=key)
    response = api_client.post(
        f"{API}/password/change", {"current_password": password, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 401  # only Bearer tokens are accepted here


def test_wrong_current_passwords_in_password_change_are_limited_per_session(rate_limits_on, auth_client, password):
    rate_limits_on.AUTH_LOGIN_FAILURES_PER_DEVICE = "2/5m"
    wrong = {"current_password": "not-it", "new_password": NEW_PASSWORD}
    statuses = [auth_client.post(f"{API}/password/change", wrong, format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    right = {"current_password": password, "new_password": NEW_PASSWORD}
    assert auth_client.post(f"{API}/password/change", right, format="json").status_code == 429


def test_password_change_revokes_every_api_key(api_client, user, password):
    from auth_app.services import api_key_create

    _, key = api_key_create(user=user, name="attacker's")
    mine = auth_session_start(user=user)
    response = bearer(api_client, mine["access"]).post(
        f"{API}/password/change", {"current_password": password, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    api_client.credentials(HTTP_X_API_KEY=key)
    assert api_client.get(f"{API}/users/me").status_code == 401


def _reset(api_client, email: str):
    return api_client.post(f"{API}/password/reset", {"email": email}, format="json")


def test_password_reset_answers_the_same_for_existing_and_missing_accounts(
    api_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        existing = _reset(api_client, user.email)
        missing = _reset(api_client, "nobody@example.com")
    assert existing.status_code == missing.status_code == 202
    assert existing.json() == missing.json()
    assert existing["Content-Type"] == missing["Content-Type"]
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_password_reset_link_sets_a_new_password_once_and_ends_all_sessions(
    api_client, user, django_capture_on_commit_callbacks
):
    pair = auth_session_start(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        _reset(api_client, user.email.upper())
    body = str(mail.outbox[0].body)
    uid_match, token_match = re.search(r"uid: (\S+)", body), re.search(r"token: (\S+)", body)
    assert uid_match and token_match
    uid, token = uid_match.group(1), token_match.group(1)
    assert f"uid={uid}&token={token}" in body
    confirm = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert api_client.post(f"{API}/password/reset/confirm", confirm, format="json").status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert bearer(api_client, pair["access"]).get(f"{API}/users/me").status_code == 401
    api_client.credentials()
    again = api_client.post(f"{API}/password/reset/confirm", {**confirm, "new_password": "yet-another-pass-88"})
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_reset_token"


def test_password_reset_confirm_revokes_every_api_key(api_client, user, django_capture_on_commit_callbacks):
    from auth_app.services import api_key_create

    _, key = api_key_create(user=user, name="attacker's")
    with django_capture_on_commit_callbacks(execute=True):
        _reset(api_client, user.email)
    body = str(mail.outbox[0].body)
    uid, token = re.findall(r"uid: (\S+)", body)[0], re.findall(r"token: (\S+)", body)[0]
    confirm = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert api_client.post(f"{API}/password/reset/confirm", confirm, format="json").status_code == 204
    api_client.credentials(HTTP_X_API_KEY=key)
    assert api_client.get(f"{API}/users/me").status_code == 401


def test_password_reset_runs_the_same_task_for_existing_and_missing_addresses(
    api_client, user, django_capture_on_commit_callbacks
):
    from celery.signals import task_postrun

    runs: list[tuple[str, object]] = []

    def record(sender: object = None, args: tuple = (), retval: object = None, **kwargs: object) -> None:
        runs.append((str(args[0]) if args else "", retval))

    task_postrun.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            existing = _reset(api_client, user.email)
            missing = _reset(api_client, "nobody@example.com")
    finally:
        task_postrun.disconnect(record)
    assert existing.status_code == missing.status_code == 202
    assert existing.json() == missing.json()
    assert runs == [(user.email, True), ("nobody@example.com", False)]
    assert [m.to for m in mail.outbox] == [[user.email]]


@pytest.fixture
def broker_down():
    """The Celery app publishing to a real closed port (no eager execution), restored afterwards."""
    from config.celery import app

    keys = ("task_always_eager", "broker_url", "task_publish_retry", "broker_connection_timeout")
    saved = {key: app.conf[key] for key in keys}

    def reset_pools() -> None:
        # What Celery itself does after a fork, so that the next publish connects to the new broker_url.
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]

    app.conf.update(
        task_always_eager=False,
        broker_url="redis://127.0.0.1:1/0",
        task_publish_retry=False,
        broker_connection_timeout=1,
    )
    reset_pools()
    yield
    app.conf.update(saved)
    reset_pools()


def test_password_reset_answers_202_when_the_broker_is_down(
    api_client, user, broker_down, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _reset(api_client, user.email)
    assert response.status_code == 202
    assert response.json() == {"detail": RESET_ACCEPTED}
    assert "could not queue the password-reset mail" in caplog.text


@pytest.mark.parametrize("uid", ["", "garbage", "Zm9v", "%%%"])
def test_password_reset_confirm_with_a_bad_link_is_400(api_client, uid):
    response = api_client.post(
        f"{API}/password/reset/confirm", {"uid": uid or "x", "token": "abc-123", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400


def test_password_reset_is_limited_per_ip(rate_limits_on, api_client):
    rate_limits_on.AUTH_PASSWORD_RESET_RATE_PER_IP = "2/m"
    statuses = [_reset(api_client, f"n{i}@example.com").status_code for i in range(3)]
    assert statuses == [202, 202, 429]


def test_inactive_account_gets_no_reset_mail(api_client, user, django_capture_on_commit_callbacks):
    User.objects.filter(pk=user.pk).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert _reset(api_client, user.email).status_code == 202
    assert mail.outbox == []
