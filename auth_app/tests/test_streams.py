"""auth_app.streams: the one credential re-check of open streams, and what their auth messages mean."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory

from auth_app.models import User
from auth_app.services import api_key_create, api_key_revoke, auth_session_revoke, auth_session_start
from auth_app.streams import (
    CREDENTIALS_CHANGED_MESSAGE,
    SESSION_REVOKED_MESSAGE,
    StreamCredential,
    stream_credential_for_request,
    stream_credential_is_valid,
    stream_groups,
    stream_message_verdict,
)
from auth_app.tokens import session_digest, token_decode, user_group
from auth_app.user_cache import user_cache_key
from common import channels

pytestmark = pytest.mark.django_db


def test_a_bearer_credential_holds_until_its_session_is_revoked(user):
    pair = auth_session_start(user=user)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    found = stream_credential_for_request(request)
    assert found is not None
    who, credential = found
    claims = token_decode(pair["access"], expected_type="access")
    assert (who, credential.method, credential.sid, credential.expires_at) == (user, "bearer", claims.sid, claims.exp)
    assert stream_groups(credential) == [f"auth.user.{user.pk}", f"auth.session.{claims.sid}"]
    assert stream_credential_is_valid(credential)
    auth_session_revoke(session_id=claims.sid, reason="logout")
    assert not stream_credential_is_valid(credential)


def test_an_api_key_credential_holds_until_the_key_is_revoked(user):
    key, raw = api_key_create(user=user, name="stream")
    found = stream_credential_for_request(RequestFactory().get("/", HTTP_X_API_KEY=f" {raw} "))
    assert found is not None and found[1] == StreamCredential("api_key", str(user.pk), raw)
    assert stream_groups(found[1]) == [f"auth.user.{user.pk}"]
    assert stream_credential_is_valid(found[1])
    api_key_revoke(user=user, key_id=key.pk)
    assert not stream_credential_is_valid(found[1])


def test_a_session_credential_holds_until_logout_or_deactivation(user):
    client = Client()
    client.force_login(user)
    session_key = client.session.session_key
    assert session_key is not None
    credential = StreamCredential.for_session(user.pk, session_key)
    assert stream_credential_is_valid(credential)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert not stream_credential_is_valid(credential)


def test_no_credential_is_none(db):
    assert stream_credential_for_request(RequestFactory().get("/")) is None
    bad = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert stream_credential_for_request(bad) is None


def test_message_verdicts():
    mine = StreamCredential.for_session("u1", "session-key-1")
    other = StreamCredential.for_session("u1", "session-key-2")
    ended = {**CREDENTIALS_CHANGED_MESSAGE, "session": session_digest("session-key-1")}
    assert stream_message_verdict(mine, dict(SESSION_REVOKED_MESSAGE)) == "close"
    assert stream_message_verdict(mine, ended) == "close"  # closed without a re-check: Django deletes it after
    assert stream_message_verdict(other, ended) == "recheck"
    assert stream_message_verdict(mine, dict(CREDENTIALS_CHANGED_MESSAGE)) == "recheck"
    assert stream_message_verdict(mine, {"type": "notification.message"}) is None
    assert "session-key-1" not in ended["session"]


def _recheck_at_each_push(monkeypatch: pytest.MonkeyPatch, credential: StreamCredential) -> list[bool]:
    """The verdicts of a stream that re-checks `credential` the instant its user's push is sent (then sent)."""
    verdicts: list[bool] = []
    send = channels.group_send_now

    def recheck_then_send(outgoing: Any) -> None:
        batch = list(outgoing)
        if (user_group(credential.user_id), dict(CREDENTIALS_CHANGED_MESSAGE)) in batch:
            verdicts.append(stream_credential_is_valid(credential))
        send(batch)

    monkeypatch.setattr(channels, "group_send_now", recheck_then_send)
    return verdicts


def _cached_bearer(user: User) -> StreamCredential:
    """A Bearer stream's credential, checked once: the user's row is in the cache, as a request leaves it."""
    pair = auth_session_start(user=user)
    credential = StreamCredential.for_token(pair["access"], token_decode(pair["access"], expected_type="access"))
    assert stream_credential_is_valid(credential)
    assert cache.get(user_cache_key(user.pk)) is not None
    return credential


@pytest.mark.django_db(transaction=True)  # autocommit, as in a shell: the push is sent inside save()
def test_a_stream_re_checking_at_the_push_of_a_deactivation_finds_the_user_inactive(user, monkeypatch):
    credential = _cached_bearer(user)
    verdicts = _recheck_at_each_push(monkeypatch, credential)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert verdicts == [False]


@pytest.mark.parametrize("change", ["deactivate", "delete"])
def test_a_row_cached_before_the_commit_is_gone_when_the_push_is_sent(
    user, monkeypatch, django_capture_on_commit_callbacks, change
):
    credential = _cached_bearer(user)
    verdicts = _recheck_at_each_push(monkeypatch, credential)
    before = User.objects.defer("password").get(pk=user.pk)
    with django_capture_on_commit_callbacks(execute=True):  # in a transaction, as the admin changes users
        if change == "deactivate":
            user.is_active = False
            user.save(update_fields=["is_active"])
        else:
            user.delete()
        cache.set(user_cache_key(before.pk), before, 30)  # a request that read the row before the commit
    assert verdicts == [False]


def test_an_old_row_cached_after_the_commit_does_not_keep_a_stream_open(user, django_capture_on_commit_callbacks):
    """A request that read the active row before the deactivation committed, and cached it after."""
    credential = _cached_bearer(user)
    before = User.objects.defer("password").get(pk=user.pk)
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save(update_fields=["is_active"])
    cache.set(user_cache_key(before.pk), before, 30)
    assert not stream_credential_is_valid(credential)
