"""auth_app.streams: the one credential re-check of open streams, and what their auth messages mean."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

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
from auth_app.tokens import session_digest, token_decode

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
