"""WebSocket authentication: the middleware and the base consumer, through WebsocketCommunicator."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path

from auth_app.services import auth_session_revoke, auth_session_start
from auth_app.tokens import token_decode
from auth_app.ws import (
    CLOSE_BAD_MESSAGE,
    CLOSE_UNAUTHENTICATED,
    AuthenticatedJsonWebsocketConsumer,
    WebSocketAuthMiddleware,
    consumer,
)

pytestmark = pytest.mark.django_db(transaction=True)


class EchoConsumer(AuthenticatedJsonWebsocketConsumer):
    async def on_authenticated(self) -> None:
        auth = self.scope["ws_auth"]
        await self.send_json({"type": "ready", "user": str(self.scope["user"].pk), "method": auth.method})

    async def on_message(self, content: dict) -> None:
        await self.send_json({"type": "echo", "content": content})


application = WebSocketAuthMiddleware(URLRouter([path("ws/echo", EchoConsumer.as_asgi())]))


async def _ready_socket(access: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/echo", subprotocols=["bearer", access])
    await communicator.connect()
    assert (await communicator.receive_json_from())["type"] == "ready"
    return communicator


async def _start_session(user) -> dict:
    return await sync_to_async(auth_session_start)(user=user)


async def test_bearer_subprotocol_is_echoed_and_authenticates(user):
    pair = await _start_session(user)
    communicator = WebsocketCommunicator(application, "/ws/echo", subprotocols=["bearer", pair["access"]])
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol == "bearer"
    assert await communicator.receive_json_from() == {"type": "ready", "user": str(user.pk), "method": "bearer"}
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "echo", "content": {"type": "ping"}}
    await communicator.disconnect()


async def test_invalid_bearer_subprotocol_is_accepted_then_closed_4401(user):
    communicator = WebsocketCommunicator(application, "/ws/echo", subprotocols=["bearer", "not-a-token"])
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol == "bearer"
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


async def test_revoked_token_is_refused_with_4401(user):
    pair = await _start_session(user)
    sid = token_decode(pair["access"], expected_type="access").sid
    await sync_to_async(auth_session_revoke)(session_id=sid, reason="logout")
    communicator = WebsocketCommunicator(application, "/ws/echo", subprotocols=["bearer", pair["access"]])
    await communicator.connect()
    assert (await communicator.receive_output())["code"] == CLOSE_UNAUTHENTICATED


async def test_first_message_auth(user):
    pair = await _start_session(user)
    communicator = WebsocketCommunicator(application, "/ws/echo")
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol is None
    await communicator.send_json_to({"type": "auth", "token": pair["access"]})
    assert (await communicator.receive_json_from())["type"] == "ready"
    await communicator.disconnect()


async def test_anonymous_socket_times_out_with_4401(settings):
    settings.WS_AUTH_TIMEOUT_SECONDS = 0.1
    communicator = WebsocketCommunicator(application, "/ws/echo")
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.mark.parametrize("frame", ["[" * 100_000 + "]" * 100_000, '{"type": "auth", "token": "\\ud800"}'])
async def test_deeply_nested_or_unencodable_frames_close_4400(frame, user, settings):
    # After authentication (before it, frames this large are refused unparsed: test_ws_limits.py).
    settings.WS_MAX_MESSAGE_BYTES = 1_000_000
    communicator = await _ready_socket((await _start_session(user))["access"])
    await communicator.send_to(text_data=frame)
    assert (await communicator.receive_output(timeout=5))["code"] == CLOSE_BAD_MESSAGE


async def test_messages_before_auth_and_malformed_messages_close(user):
    communicator = WebsocketCommunicator(application, "/ws/echo")
    await communicator.connect()
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_output())["code"] == CLOSE_UNAUTHENTICATED

    communicator = WebsocketCommunicator(application, "/ws/echo")
    await communicator.connect()
    await communicator.send_to(text_data='{"type": "auth" not json')
    assert (await communicator.receive_output())["code"] == CLOSE_BAD_MESSAGE

    communicator = WebsocketCommunicator(application, "/ws/echo")
    await communicator.connect()
    await communicator.send_json_to({"type": "auth", "token": "forged"})
    assert (await communicator.receive_output())["code"] == CLOSE_UNAUTHENTICATED


async def test_socket_closes_when_the_token_expires(user, settings):
    from datetime import timedelta

    settings.JWT_ACCESS_TTL = timedelta(seconds=2)
    pair = await _start_session(user)
    communicator = WebsocketCommunicator(application, "/ws/echo", subprotocols=["bearer", pair["access"]])
    await communicator.connect()
    assert (await communicator.receive_json_from())["type"] == "ready"
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


async def test_query_string_token_is_ignored(user, settings):
    settings.WS_AUTH_TIMEOUT_SECONDS = 0.1
    pair = await _start_session(user)
    communicator = WebsocketCommunicator(application, f"/ws/echo?token={pair['access']}")
    await communicator.connect()
    assert (await communicator.receive_output(timeout=5))["code"] == CLOSE_UNAUTHENTICATED


async def test_django_session_cookie_authenticates(user, client):
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(application, "/ws/echo", headers=[(b"cookie", cookie)])
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol is None
    assert await communicator.receive_json_from() == {"type": "ready", "user": str(user.pk), "method": "session"}
    await communicator.disconnect()


def _post_sync(path: str, access: str) -> int:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.post(path, {}, format="json").status_code


async def test_logout_closes_the_open_socket_of_that_session_with_4401(user):
    pair = await _start_session(user)
    other = await _start_session(user)
    communicator = await _ready_socket(pair["access"])
    bystander = await _ready_socket(other["access"])

    assert await sync_to_async(_post_sync)("/api/v1/auth/logout", pair["access"]) == 204

    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    await bystander.send_json_to({"type": "ping"})  # another session's socket stays open
    assert (await bystander.receive_json_from())["type"] == "echo"
    await bystander.disconnect()


async def test_logout_all_closes_a_socket_authenticated_by_message(user):
    pair = await _start_session(user)
    communicator = WebsocketCommunicator(application, "/ws/echo")
    await communicator.connect()
    await communicator.send_json_to({"type": "auth", "token": pair["access"]})
    assert (await communicator.receive_json_from())["type"] == "ready"

    assert await sync_to_async(_post_sync)("/api/v1/auth/logout-all", pair["access"]) == 204

    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


async def test_a_lost_revocation_push_still_closes_the_socket_at_the_next_recheck(user, settings, monkeypatch):
    """The channel layer dropped the 'session revoked' push (e.g. a process reconnecting to Redis)."""
    from auth_app.services import sessions

    settings.WS_AUTH_RECHECK_SECONDS = 0.2
    pair = await _start_session(user)
    other = await _start_session(user)
    communicator = await _ready_socket(pair["access"])
    bystander = await _ready_socket(other["access"])

    monkeypatch.setattr(sessions, "group_send_after_commit", lambda outgoing: None)  # the push is lost on the way
    checks: dict[str, list[bool]] = {}
    check = consumer._credential_still_valid

    async def recorded(scope):
        result = await check(scope)
        checks.setdefault(scope["ws_auth"].sid, []).append(result)
        if len(checks.get(other_sid, [])) >= 2:
            bystander_checked.set()
        return result

    monkeypatch.setattr(consumer, "_credential_still_valid", recorded)
    other_sid = token_decode(other["access"], expected_type="access").sid
    bystander_checked = asyncio.Event()
    sid = token_decode(pair["access"], expected_type="access").sid
    await sync_to_async(auth_session_revoke)(session_id=sid, reason="logout")

    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    assert checks[sid][-1] is False
    await asyncio.wait_for(bystander_checked.wait(), 5)  # the other session passed two rechecks ...
    assert all(checks[other_sid])
    await bystander.send_json_to({"type": "ping"})  # ... and is still served
    assert (await bystander.receive_json_from(timeout=5))["type"] == "echo"
    await bystander.disconnect()
