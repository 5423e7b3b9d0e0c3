"""WebSocket limits in the consumer base class: message size, nothing parsed before auth, stream caps."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from auth_app import ws
from auth_app.services import auth_session_start
from auth_app.ws import (
    CLOSE_BAD_MESSAGE,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_STREAMS,
    CLOSE_UNAUTHENTICATED,
    consumer,
)

from .test_ws import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if the consumer json-parses anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("a frame was parsed")

    monkeypatch.setattr(consumer.json, "loads", refuse)


def _client(access: str | None = None, ip: str = "192.0.2.10") -> WebsocketCommunicator:
    subprotocols = ["bearer", access] if access else None
    communicator = WebsocketCommunicator(application, "/ws/echo", subprotocols=subprotocols)
    communicator.scope["client"] = (ip, 40000)
    return communicator


async def _access(user) -> str:
    return (await sync_to_async(auth_session_start)(user=user))["access"]


async def _ready(access: str, ip: str = "192.0.2.10") -> WebsocketCommunicator:
    communicator = _client(access, ip)
    await communicator.connect()
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    return communicator


async def _closed_with(communicator: WebsocketCommunicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return int(message["code"])


# --- message size ---------------------------------------------------------------------------------


async def test_a_message_over_the_limit_after_auth_closes_1009(user, settings):
    settings.WS_MAX_MESSAGE_BYTES = 1000
    communicator = await _ready(await _access(user))

    await communicator.send_json_to({"type": "echo", "pad": "x" * 900})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "echo"  # under the limit
    await communicator.send_to(text_data='{"type": "echo", "pad": "' + "é" * 600 + '"}')  # 600 chars, 1,200+ bytes

    assert await _closed_with(communicator) == CLOSE_TOO_BIG


async def test_a_large_binary_message_after_auth_closes_1009(user, settings):
    settings.WS_MAX_MESSAGE_BYTES = 1000
    communicator = await _ready(await _access(user))
    await communicator.send_to(bytes_data=b"x" * 1001)
    assert await _closed_with(communicator) == CLOSE_TOO_BIG


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text_data": '{"type": "auth", "token": "' + "x" * 5000 + '"}'}, CLOSE_TOO_BIG),  # over the auth limit
        ({"text_data": '{"type": "ping", "pad": "' + "x" * 3000 + '"}'}, CLOSE_UNAUTHENTICATED),  # not an auth message
        ({"text_data": "[" * 4000}, CLOSE_BAD_MESSAGE),  # not a JSON object
        ({"bytes_data": b'{"type": "auth"}'}, CLOSE_BAD_MESSAGE),  # binary
    ],
)
async def test_before_auth_only_the_auth_message_is_parsed(frame, code, settings, no_parsing):
    settings.WS_AUTH_MESSAGE_MAX_BYTES = 4096
    communicator = _client()
    await communicator.connect()

    await communicator.send_to(**frame)

    assert await _closed_with(communicator) == code


async def test_the_auth_message_is_still_parsed_before_auth(user):
    communicator = _client()
    await communicator.connect()
    await communicator.send_json_to({"type": "auth", "token": await _access(user)})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    await communicator.disconnect()


# --- open-stream caps -----------------------------------------------------------------------------


async def test_a_user_past_its_stream_cap_is_closed_4429_and_a_closed_socket_frees_its_slot(user, settings):
    settings.STREAMS_MAX_PER_USER = 2
    access = await _access(user)
    first, second = await _ready(access), await _ready(access, ip="198.51.100.7")

    third = _client(access, ip="203.0.113.5")
    await third.connect()
    assert await _closed_with(third) == CLOSE_TOO_MANY_STREAMS

    await first.disconnect()
    again = await _ready(access)
    for communicator in (second, again):
        await communicator.disconnect()


async def test_an_address_past_its_stream_cap_is_closed_4429(user, other_user, settings):
    settings.STREAMS_MAX_PER_IP = 1
    held = await _ready(await _access(user), ip="192.0.2.77")

    refused = _client(await _access(other_user), ip="192.0.2.77")
    await refused.connect()
    assert await _closed_with(refused) == CLOSE_TOO_MANY_STREAMS

    elsewhere = await _ready(await _access(other_user), ip="192.0.2.78")
    for communicator in (held, elsewhere):
        await communicator.disconnect()


async def test_a_socket_authenticated_by_message_takes_its_slot_then(user, settings):
    settings.STREAMS_MAX_PER_USER = 1
    access = await _access(user)
    held = await _ready(access)
    late = _client()
    await late.connect()
    await late.send_json_to({"type": "auth", "token": access})
    assert await _closed_with(late) == CLOSE_TOO_MANY_STREAMS
    await held.disconnect()


async def test_the_stream_registry_down_closes_1013(user, settings, monkeypatch):
    from common.errors import ServiceUnavailable

    async def unavailable(**kwargs):
        raise ServiceUnavailable("down")

    monkeypatch.setattr(consumer, "stream_slots_acquire", unavailable)
    communicator = _client(await _access(user))
    await communicator.connect()
    assert await _closed_with(communicator) == ws.CLOSE_TRY_AGAIN
