"""SSE: headers, auth, replay after Last-Event-ID / ?after=, live events, heartbeat, disconnect cleanup."""

import asyncio
import json
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.test import Client, override_settings

from common.tests.asgi_driver import http_scope
from notifications import sse
from notifications.push import user_group

from .conftest import asend, group_members, layer_holds_channel

# Each stream test takes a second or two; one that cannot finish fails here, not at the global 60 s.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(20)]

PATH = "/api/v1/notifications/events"


def _scope(headers: dict[str, str], query: str = "", method: str = "GET") -> dict[str, Any]:
    return http_scope(PATH, method=method, headers=list(headers.items()), query=query)


class Stream:
    """One SSE request against config.asgi, read event by event."""

    def __init__(self, headers: dict[str, str], query: str = "", method: str = "GET") -> None:
        from config.asgi import application

        self.communicator = ApplicationCommunicator(application, _scope(headers, query, method))
        self.buffer = ""
        self.start: dict[str, Any] = {}

    async def open(self) -> dict[str, Any]:
        await self.communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        self.start = await self.communicator.receive_output(timeout=5)
        assert self.start["type"] == "http.response.start"
        return self.start

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode().lower(): v.decode() for k, v in self.start["headers"]}

    async def body(self) -> bytes:
        message = await self.communicator.receive_output(timeout=5)
        assert message["type"] == "http.response.body"
        return message.get("body", b"")

    async def next_block(self) -> str:
        """The next blank-line-terminated block (an event, a comment or the retry advice)."""
        while "\n\n" not in self.buffer:
            message = await self.communicator.receive_output(timeout=5)
            assert message["type"] == "http.response.body", message
            self.buffer += message.get("body", b"").decode()
        block, self.buffer = self.buffer.split("\n\n", 1)
        return block

    async def next_event(self) -> dict[str, Any]:
        while True:
            block = await self.next_block()
            fields: dict[str, str] = {}
            for line in block.split("\n"):
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
            if "event" in fields:
                return {"id": fields.get("id"), "event": fields["event"], "data": json.loads(fields["data"])}

    async def close(self) -> None:
        await self.communicator.send_input({"type": "http.disconnect"})
        await self.communicator.wait(timeout=5)


async def _open_stream_channel(user_id: Any) -> str:
    """The channel of the user's open stream, once the generator has joined the group."""
    for _ in range(500):
        channels = [name for name, owner in sse.OPEN_STREAMS.items() if owner == str(user_id)]
        if channels:
            return channels[0]
        await asyncio.sleep(0.01)
    raise AssertionError("the stream never joined its group")


async def test_headers_retry_and_live_event(user, access_token):
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    start = await stream.open()
    assert start["status"] == 200
    assert stream.headers["content-type"] == "text/event-stream"
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.headers["x-accel-buffering"] == "no"
    assert (await stream.next_block()).startswith("retry: ")
    await _open_stream_channel(user.pk)
    sent = await asend(user_id=user.pk, kind="system.message", title="live")
    event = await stream.next_event()
    assert event == {"id": "1", "event": "notification", "data": event["data"]}
    assert event["data"]["id"] == str(sent.pk)
    await stream.close()


async def test_last_event_id_replays_exactly_the_missed(user, access_token, settings):
    settings.NOTIFICATIONS_REPLAY_PAGE_SIZE = 2
    for index in range(6):
        await asend(user_id=user.pk, kind="system.message", title=f"n{index}")
    stream = Stream({"Authorization": f"Bearer {access_token}", "Last-Event-ID": "3"}, query="after=1")
    await stream.open()
    ids = [(await stream.next_event())["id"] for _ in range(3)]
    assert ids == ["4", "5", "6"]
    await _open_stream_channel(user.pk)
    await asend(user_id=user.pk, kind="system.message", title="after replay")
    assert (await stream.next_event())["id"] == "7"
    await stream.close()


async def test_after_query_on_first_connection(user, access_token):
    for index in range(2):
        await asend(user_id=user.pk, kind="system.message", title=f"n{index}")
    stream = Stream({"Authorization": f"Bearer {access_token}"}, query="after=0")
    await stream.open()
    assert [(await stream.next_event())["id"] for _ in range(2)] == ["1", "2"]
    await stream.close()


async def test_without_position_only_new_notifications(user, access_token):
    await asend(user_id=user.pk, kind="system.message", title="old")
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    await _open_stream_channel(user.pk)
    await asend(user_id=user.pk, kind="system.message", title="new")
    assert (await stream.next_event())["data"]["title"] == "new"
    await stream.close()


async def test_other_users_notifications_never_arrive(user, other_user, access_token):
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    await _open_stream_channel(user.pk)
    await asend(user_id=other_user.pk, kind="system.message", title="not yours")
    await asend(user_id=user.pk, kind="system.message", title="yours")
    assert (await stream.next_event())["data"]["title"] == "yours"
    await stream.close()


async def test_read_receipts_are_events_without_id(user, access_token):
    from notifications import services

    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    await _open_stream_channel(user.pk)
    await asend(user_id=user.pk, kind="system.message", title="x")
    await stream.next_event()
    assert await database_sync_to_async(services.notification_mark_all_read)(user=user) == 1
    event = await stream.next_event()
    assert event["event"] == "read" and event["id"] is None
    assert event["data"] == {"ids": [], "all": True, "count": 1}
    await stream.close()


async def test_ephemeral_events_are_frames_named_after_the_event_without_id(user, access_token):
    from notifications import services

    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    await _open_stream_channel(user.pk)
    await database_sync_to_async(services.notification_event_publish)(
        user_id=user.pk, event="file.conversion.progress", data={"job_id": "j1", "progress": 40}
    )
    event = await stream.next_event()
    assert event == {"id": None, "event": "file.conversion.progress", "data": {"job_id": "j1", "progress": 40}}
    await stream.close()


async def test_heartbeat_comment(user, access_token, settings):
    settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = 0.01
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    await stream.next_block()  # retry advice
    assert await stream.next_block() == ": heartbeat"
    await stream.close()


async def test_session_cookie_authenticates(user):
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    stream = Stream({"Cookie": f"sessionid={client.cookies['sessionid'].value}"}, query="after=0")
    assert (await stream.open())["status"] == 200
    await stream.close()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
async def test_unauthenticated_is_401_problem(headers):
    stream = Stream(headers)
    start = await stream.open()
    assert start["status"] == 401
    assert stream.headers["content-type"].startswith("application/problem+json")
    assert json.loads(await stream.body())["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"Last-Event-ID": "x"}, ""),
        ({}, "after=-1"),
        ({}, "after=%D9%A3"),  # an Arabic-Indic digit three: digits are ASCII (issue 9 item 11)
        ({"Last-Event-ID": "\u0663".encode().decode("latin-1")}, ""),
        ({}, "after="),  # present but empty is not "absent"
        ({}, "after=1&after=2"),
        ({}, "after=1000000000000000000"),  # past the documented maximum
    ],
)
async def test_bad_position_is_400(access_token, headers, query):
    stream = Stream({"Authorization": f"Bearer {access_token}", **headers}, query=query)
    assert (await stream.open())["status"] == 400
    assert json.loads(await stream.body())["code"] == "invalid_event_id"


async def test_post_is_405_problem(access_token):
    stream = Stream({"Authorization": f"Bearer {access_token}"}, method="POST")
    assert (await stream.open())["status"] == 405


async def test_disconnect_mid_stream_frees_the_stream(user, access_token):
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    channel = await _open_stream_channel(user.pk)
    group = user_group(user.pk)
    assert channel in await group_members(group)
    await asend(user_id=user.pk, kind="system.message", title="one")
    await stream.next_event()

    await stream.close()  # returns once the application task has finished

    assert channel not in sse.OPEN_STREAMS  # the generator's `finally` ran
    assert channel not in await group_members(group)
    assert not await layer_holds_channel(channel)  # no queue or subscription left behind
    leftover = [t for t in asyncio.all_tasks() if "receive" in repr(t.get_coro()) and not t.done()]
    assert leftover == []


async def test_position_above_the_newest_seq_is_clamped(user, access_token):
    for index in range(2):
        await asend(user_id=user.pk, kind="system.message", title=f"n{index}")
    stream = Stream({"Authorization": f"Bearer {access_token}", "Last-Event-ID": "999"})
    await stream.open()
    await _open_stream_channel(user.pk)
    await asend(user_id=user.pk, kind="system.message", title="next")
    assert (await stream.next_event())["id"] == "3"
    await stream.close()


async def test_heartbeat_rejoins_the_group_and_fills_what_was_missed(user, access_token, settings):
    settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = 0.2
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    channel = await _open_stream_channel(user.pk)
    group = user_group(user.pk)
    await get_channel_layer().group_discard(group, channel)
    await asend(user_id=user.pk, kind="system.message", title="while out of the group")
    event = await stream.next_event()
    assert (event["id"], event["data"]["title"]) == ("1", "while out of the group")
    assert channel in await group_members(group)
    await stream.close()


async def _end_of_stream(stream: Stream, deadline: float = 5.0) -> dict[str, Any]:
    """The final `error` event, then the end of the body, all within `deadline` seconds.

    One overall deadline, not only a per-read timeout: heartbeats arrive more often than any read
    times out, so a stream that never ends would otherwise keep this loop (and the test) alive forever.
    """
    async with asyncio.timeout(deadline):
        event = await stream.next_event()
        while event["event"] != "error":
            event = await stream.next_event()
        while True:
            message = await stream.communicator.receive_output(timeout=5)
            if not message.get("more_body", False):
                return event


async def test_stream_ends_when_the_access_token_expires(user, make_access_token, settings):
    import datetime as dt

    settings.JWT_ACCESS_TTL = dt.timedelta(seconds=2)
    token = await database_sync_to_async(make_access_token)(user)
    stream = Stream({"Authorization": f"Bearer {token}"})
    assert (await stream.open())["status"] == 200
    event = await _end_of_stream(stream)
    assert event["data"]["code"] == "token_expired"
    await stream.communicator.wait(timeout=5)
    assert not [owner for owner in sse.OPEN_STREAMS.values() if owner == str(user.pk)]


async def test_logout_ends_an_open_stream_at_the_next_heartbeat(user, access_token, settings):
    from auth_app.services import auth_sessions_revoke_all

    settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = 0.1
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    await _open_stream_channel(user.pk)
    await database_sync_to_async(auth_sessions_revoke_all)(user=user, reason="logout")
    event = await _end_of_stream(stream)
    assert event["data"]["code"] == "credentials_revoked"


async def test_deactivation_ends_an_open_stream(user, access_token, settings):
    settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = 0.1
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    await stream.open()
    await _open_stream_channel(user.pk)
    user.is_active = False
    await database_sync_to_async(user.save)(update_fields=["is_active"])
    assert (await _end_of_stream(stream))["data"]["code"] == "credentials_revoked"


async def test_session_logout_ends_a_cookie_stream(user, settings):
    settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = 0.1
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    stream = Stream({"Cookie": f"sessionid={client.cookies['sessionid'].value}"})
    assert (await stream.open())["status"] == 200
    await _open_stream_channel(user.pk)
    await database_sync_to_async(client.logout)()
    assert (await _end_of_stream(stream))["data"]["code"] == "credentials_revoked"


async def test_api_key_revocation_ends_the_stream(user, settings):
    from auth_app.services import api_key_create, api_key_revoke

    settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = 0.1
    key, raw = await database_sync_to_async(api_key_create)(user=user, name="sse")
    stream = Stream({"X-API-Key": raw})
    assert (await stream.open())["status"] == 200
    await _open_stream_channel(user.pk)
    assert (await stream.next_block()).startswith("retry: ")
    assert await stream.next_block() == ": heartbeat"  # still valid at the first heartbeat
    await database_sync_to_async(api_key_revoke)(user=user, key_id=key.pk)
    assert (await _end_of_stream(stream))["data"]["code"] == "credentials_revoked"


@pytest.fixture
def cache_down():
    # The denylist read fails against a real closed port (no mocks). A fixture of its own, so the
    # real cache is back before the autouse fixture clears it.
    closed = {
        "default": {
            "BACKEND": "common.cache.PlatformRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=closed):
        yield


async def test_a_cache_outage_is_503_problem_not_500(access_token, cache_down):
    stream = Stream({"Authorization": f"Bearer {access_token}"})
    assert (await stream.open())["status"] == 503
    assert json.loads(await stream.body())["code"] == "service_unavailable"
