"""Publishing: bounded concurrency (a big batch does not exhaust the layer's Redis pool) and a deadline."""

import asyncio
import copy
import logging

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.contrib.auth import get_user_model
from model_bakery import baker

from common.channels import group_send_bounded
from notifications import services
from notifications.push import notification_message, user_group

pytestmark = pytest.mark.django_db(transaction=True)


async def test_broadcast_to_150_users_reaches_every_channel(settings):
    """150 group sends in one batch: with the layer's pool of 100 connections, all must still arrive."""
    settings.NOTIFICATIONS_BROADCAST_BATCH_SIZE = 500
    if "capacity" in settings.CHANNEL_LAYERS["default"].get("CONFIG", {}):
        # channels_redis keeps every channel of one process in one Redis list, capped at `capacity`;
        # nothing reads here until the broadcast is done, so make room for all 150 (a new layer).
        layers = copy.deepcopy(settings.CHANNEL_LAYERS)
        layers["default"]["CONFIG"]["capacity"] = 1000
        settings.CHANNEL_LAYERS = layers
    users = await database_sync_to_async(baker.make)(get_user_model(), is_active=True, _quantity=150)
    layer = get_channel_layer()
    channels = {}
    for user in users:
        channel = await layer.new_channel()
        await layer.group_add(user_group(user.pk), channel)
        channels[user.pk] = channel
    written = await database_sync_to_async(services.notification_broadcast)(kind="system.message", title="all")
    assert written == 150
    for pk, channel in channels.items():
        message = await asyncio.wait_for(layer.receive(channel), timeout=10)
        assert message["notification"]["user_id"] == str(pk)


@pytest.mark.parametrize("layer_class", [RedisPubSubChannelLayer, RedisChannelLayer])
async def test_a_publish_to_an_unresponsive_redis_gives_up_and_only_logs(settings, caplog, layer_class):
    """A Redis that accepts the connection and never answers: each send stops at the deadline."""
    settings.CHANNEL_PUSH_TIMEOUT_SECONDS = 0.2
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    layer = layer_class(hosts=[{"address": f"redis://127.0.0.1:{port}", "socket_timeout": 60}])
    batch = [(user_group(index), notification_message({"seq": index})) for index in range(3)]
    try:
        with caplog.at_level(logging.WARNING, logger="common.channels"):
            await group_send_bounded(layer, batch)  # returns (no exception) although no send completed
        assert "3 of 3 group sends failed" in caplog.text
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
        await (layer.close_pools() if isinstance(layer, RedisChannelLayer) else layer.flush())
