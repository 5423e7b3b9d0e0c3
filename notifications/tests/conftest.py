"""Helpers for the notifications tests: WebSocket clients against the real ASGI application."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings

from notifications import services

WS_PATH = "/ws/notifications"
ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")  # the Origin check compares the origin with the request's own host


def ws_client(token: str | None = None, *, application: Any = None, path: str = WS_PATH) -> WebsocketCommunicator:
    """A communicator against config.asgi (or `application`), authenticating with the bearer subprotocol."""
    if application is None:
        from config.asgi import application as asgi_application

        application = asgi_application
    subprotocols = ["bearer", token] if token else None
    return WebsocketCommunicator(application, path, headers=[HOST, ORIGIN], subprotocols=subprotocols)


async def ws_ready(token: str, **kwargs: Any) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """Connect, and wait for the `ready` message (the socket has joined its group)."""
    communicator = ws_client(token, **kwargs)
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol == "bearer"
    ready = await communicator.receive_json_from(timeout=5)
    assert ready["type"] == "ready", ready
    return communicator, ready


async def receive_type(communicator: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict[str, Any]:
    """The next message of type `kind`, skipping pings and read receipts."""
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message
        assert message["type"] in ("ping", "read"), message


asend = database_sync_to_async(services.notification_send)


async def group_members(group: str) -> set[str]:
    """The channels in a channel-layer group, read from the layer itself."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer: Any = get_channel_layer()
    if isinstance(layer, RedisPubSubChannelLayer):  # membership is kept per process (and loop)
        loop_layer = layer._get_layer()
        return set(loop_layer.groups.get(loop_layer._get_group_channel_name(group), set()))
    if hasattr(layer, "groups"):  # InMemoryChannelLayer
        return set(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return {member.decode() for member in await connection.zrange(layer._group_key(group), 0, -1)}


async def layer_holds_channel(channel: str) -> bool:
    """Whether this process's channel layer still keeps a queue (and, for pub/sub, a subscription)
    for `channel`. The list-based Redis layer keeps nothing per channel in the process: False."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer: Any = get_channel_layer()
    if isinstance(layer, RedisPubSubChannelLayer):
        return channel in layer._get_layer().channels
    return channel in getattr(layer, "channels", {})


def services_mode() -> bool:
    return not settings.EMBEDDED_REDIS and not settings.EMBEDDED_DATABASE


@pytest.fixture(autouse=True)
def _short_resume_grace(settings):
    """Live delivery starts 50 ms after `ready` unless the client resumes first (tests that need a
    longer hold set their own)."""
    settings.NOTIFICATIONS_WS_RESUME_GRACE_SECONDS = 0.05


@pytest.fixture
def tokens(make_access_token, user, other_user) -> dict[str, str]:
    return {"user": make_access_token(user), "other": make_access_token(other_user)}


@pytest.fixture(autouse=True)
async def _stray_tasks(stray_tasks_cancelled):
    yield
