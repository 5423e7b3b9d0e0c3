"""Revocation reaches open SSE streams at once (issue 9 item 1.4): the stream listens on its
credential's groups, so it ends within a second, long before its next heartbeat re-check."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from rest_framework.test import APIClient

from .test_sse import Stream, _end_of_stream, _open_stream_channel

# The heartbeat (and its re-check) is 15 s away: only the push can end a stream within the 2 s allowed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(20)]
PUSH_DEADLINE = 2.0


@pytest.fixture(autouse=True)
def _slow_heartbeat(settings):
    settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = 15


def _post(path: str, access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.post(path, {}, format="json").status_code


async def _ready(stream: Stream, user) -> None:
    assert (await stream.open())["status"] == 200
    await _open_stream_channel(user.pk)


async def test_logout_all_ends_a_bearer_stream_within_a_second(user, access_token):
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await _ready(stream, user)
    assert await database_sync_to_async(_post)("/api/v1/auth/logout-all", access_token) == 204
    event = await _end_of_stream(stream, deadline=PUSH_DEADLINE)
    assert event["data"]["code"] == "credentials_revoked"


async def test_logout_of_another_session_leaves_the_stream_open(user, access_token, make_access_token):
    other = await database_sync_to_async(make_access_token)(user)
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await _ready(stream, user)
    assert await database_sync_to_async(_post)("/api/v1/auth/logout", other) == 204
    from notifications.tests.conftest import asend

    await asend(user_id=user.pk, kind="system.message", title="still here")
    event = await stream.next_event()
    assert (event["event"], event["data"]["title"]) == ("notification", "still here")
    await stream.close()


async def test_django_logout_ends_a_cookie_stream_at_once(user):
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    stream = Stream({"Cookie": f"sessionid={client.cookies['sessionid'].value}"})
    await _ready(stream, user)
    await database_sync_to_async(client.logout)()
    assert (await _end_of_stream(stream, deadline=PUSH_DEADLINE))["data"]["code"] == "credentials_revoked"


async def test_api_key_revocation_ends_the_stream_at_once(user):
    from auth_app.services import api_key_create, api_key_revoke

    key, raw = await database_sync_to_async(api_key_create)(user=user, name="sse")
    stream = Stream({"X-API-Key": raw})
    await _ready(stream, user)
    await database_sync_to_async(api_key_revoke)(user=user, key_id=key.pk)
    assert (await _end_of_stream(stream, deadline=PUSH_DEADLINE))["data"]["code"] == "credentials_revoked"


async def test_deactivation_ends_the_stream_at_once(user, access_token):
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await _ready(stream, user)
    user.is_active = False
    await database_sync_to_async(user.save)(update_fields=["is_active"])
    assert (await _end_of_stream(stream, deadline=PUSH_DEADLINE))["data"]["code"] == "credentials_revoked"
