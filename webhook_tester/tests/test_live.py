"""Live: a WebSocket on the bin receives each capture within a second; owner notifications (throttled)."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from notifications.selectors import notification_list
from webhook_tester import services

from .conftest import asgi_call, capture, hook

pytestmark = pytest.mark.django_db(transaction=True)


def ws(token: str | None, bin_id) -> WebsocketCommunicator:
    from config.asgi import application

    return WebsocketCommunicator(
        application,
        f"/ws/bins/{bin_id}",
        headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")],  # same-origin handshake
        subprotocols=["bearer", token] if token else None,
    )


async def test_websocket_receives_a_capture_within_a_second(user, make_access_token, stray_tasks_cancelled):
    bin, _ = await sync_to_async(services.bin_create)(owner=user)
    token = await sync_to_async(make_access_token)(user)
    communicator = ws(token, bin.pk)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5)) == {"type": "ready", "bin_id": str(bin.pk)}
    started = time.monotonic()
    result = await asgi_call("POST", f"/hooks/{bin.pk}/live", chunks=[b"{}"])
    message = await communicator.receive_json_from(timeout=1)
    assert time.monotonic() - started < 1
    assert message["type"] == "event"
    assert message["event"]["id"] == result.json()["id"]
    assert message["event"]["sub_path"] == "/live"
    await communicator.disconnect()


async def test_websocket_on_another_users_bin_is_closed_4404(
    user, other_user, make_access_token, stray_tasks_cancelled
):
    bin, _ = await sync_to_async(services.bin_create)(owner=user)
    token = await sync_to_async(make_access_token)(other_user)
    communicator = ws(token, bin.pk)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4404}


async def test_websocket_needs_authentication(user, settings, stray_tasks_cancelled):
    settings.WS_AUTH_TIMEOUT_SECONDS = 0.05
    bin, _ = await sync_to_async(services.bin_create)(owner=user)
    communicator = ws(None, bin.pk)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_output(timeout=5))["code"] == 4401
    await asyncio.sleep(0)


def test_opted_in_owner_is_notified_once_per_window(make_bin, user):
    bin = make_bin(user, notify=True)
    for _ in range(3):
        assert capture("POST", hook(bin), chunks=[b"x"]).status == 200
    notes = list(notification_list(user=user))
    assert len(notes) == 1
    assert notes[0].kind == "bin.event_received"
    assert notes[0].data["bin_id"] == str(bin.pk)


def test_bins_without_opt_in_send_no_notification(bin, user):
    capture("POST", hook(bin), chunks=[b"x"])
    assert not notification_list(user=user).exists()


def test_notify_task_is_idempotent(make_bin, user):
    from webhook_tester.models import CapturedEvent

    bin = make_bin(user, notify=True)
    capture("POST", hook(bin))
    event = CapturedEvent.objects.get()
    window = services.events.notify_window()
    services.bin_notify_send(bin_id=bin.pk, event_id=event.pk, window=window)
    services.bin_notify_send(bin_id=bin.pk, event_id=event.pk, window=window)
    assert notification_list(user=user).count() == 1


async def test_only_watched_bins_are_pushed(user, stray_tasks_cancelled, settings):
    """A capture nobody watches costs no publish; a bin with a live viewer's mark gets one per batch."""
    from channels.layers import get_channel_layer
    from django.core.cache import cache

    from common.channels import channel_release
    from webhook_tester.live import bin_group, watch_key

    bin, _ = await sync_to_async(services.bin_create)(owner=user)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(bin_group(bin.pk), channel)  # a listener without a consumer's watch mark
    try:
        await asgi_call("POST", f"/hooks/{bin.pk}", chunks=[b"unwatched"])
        await cache.aset(watch_key(bin.pk), 1, timeout=30)
        result = await asgi_call("POST", f"/hooks/{bin.pk}", chunks=[b"watched"])
        # The first message the group got is the watched capture's: the unwatched one sent nothing.
        message = await asyncio.wait_for(layer.receive(channel), timeout=2)
        assert message["type"] == "bin.events"
        assert [event["id"] for event in message["events"]] == [result.json()["id"]]
    finally:
        await layer.group_discard(bin_group(bin.pk), channel)
        await channel_release(layer, channel)


def test_notification_is_queued_once_per_window(make_bin, user):
    from webhook_tester.models import CapturedEvent

    bin = make_bin(user, notify=True)
    capture("POST", hook(bin))
    event = CapturedEvent.objects.get()
    config = services.bin_config_load(bin_id=bin.pk)
    assert config is not None
    # The capture above took this window's slot: later captures in it queue nothing.
    assert services.bin_notify_maybe(config=config, event_id=event.pk) is False
    silent = services.bin_config_load(bin_id=make_bin(user).pk)
    assert silent is not None and services.bin_notify_maybe(config=silent, event_id=event.pk) is False
