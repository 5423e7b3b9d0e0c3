"""Revocation reaches open WebSockets at once (issue 9 item 1.4), not at the next periodic re-check:
Django's own sign-out, deactivation, a password change, while other users' sockets stay open."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from auth_app.services import auth_session_start, user_password_change
from auth_app.ws import CLOSE_UNAUTHENTICATED

from .test_ws import _ready_socket, application

# The periodic re-check is far away (30 s): only the push can close a socket within the 2 s waited here.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(20)]

CLOSED = {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.fixture(autouse=True)
def _slow_recheck(settings):
    settings.WS_AUTH_RECHECK_SECONDS = 30


async def _cookie_socket(client: Client) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(application, "/ws/echo", headers=[(b"cookie", cookie)])
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["method"] == "session"
    return communicator


async def _still_open(communicator: WebsocketCommunicator) -> None:
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "echo"
    await communicator.disconnect()


async def test_admin_logout_closes_the_cookie_socket_at_once(staff_user, other_user):
    client = Client()
    await sync_to_async(client.force_login)(staff_user)
    socket = await _cookie_socket(client)
    bystander_client = Client()
    await sync_to_async(bystander_client.force_login)(other_user)
    bystander = await _cookie_socket(bystander_client)

    response = await sync_to_async(client.post)("/admin/logout/")
    assert response.status_code in (200, 302)  # Django's page, or our admin site's redirect to the sign-in page
    assert "sessionid" not in response.cookies or not response.cookies["sessionid"].value  # logged out

    assert await socket.receive_output(timeout=2) == CLOSED
    await _still_open(bystander)


async def test_a_second_cookie_session_of_the_same_user_survives_the_first_ones_logout(user):
    first, second = Client(), Client()
    await sync_to_async(first.force_login)(user)
    await sync_to_async(second.force_login)(user)
    socket = await _cookie_socket(first)
    other_tab = await _cookie_socket(second)

    await sync_to_async(first.logout)()  # django.contrib.auth.logout: the user_logged_out signal

    assert await socket.receive_output(timeout=2) == CLOSED
    await _still_open(other_tab)  # it re-checked, and its own session still holds


async def test_deactivation_closes_every_socket_of_the_user_at_once(user, other_user):
    socket = await _ready_socket((await sync_to_async(auth_session_start)(user=user))["access"])
    bystander = await _ready_socket((await sync_to_async(auth_session_start)(user=other_user))["access"])

    user.is_active = False
    await sync_to_async(user.save)(update_fields=["is_active"])

    assert await socket.receive_output(timeout=2) == CLOSED
    await _still_open(bystander)


async def test_a_password_change_closes_the_users_cookie_sockets_at_once(user, password):
    client = Client()
    await sync_to_async(client.force_login)(user)
    socket = await _cookie_socket(client)
    kept = await sync_to_async(auth_session_start)(user=user)
    current = await _ready_socket(kept["access"])
    from auth_app.tokens import token_decode

    keep_sid = token_decode(kept["access"], expected_type="access").sid
    await sync_to_async(user_password_change)(
        user=user, current_password=password, new_password="a-new-passphrase-77", keep_sid=keep_sid
    )

    assert await socket.receive_output(timeout=2) == CLOSED  # its session hash no longer matches
    await _still_open(current)  # the session that changed the password stays
