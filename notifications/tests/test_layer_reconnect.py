"""The Redis pub/sub layer loses its connection (Redis restart, failover, a killed client).

Pub/sub keeps nothing for a subscriber that is away, so what is published while the server process
reconnects is lost to the layer. The layer reconnects and re-subscribes by itself; the socket then
gets the next push live and, because its seq jumps, reads the missed one from the database first.
"""

import asyncio
import time
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from redis.asyncio import Redis

from .conftest import asend, receive_type, services_mode, ws_ready

pytestmark = pytest.mark.django_db(transaction=True)


def _db_index() -> str:
    return (urlparse(django_settings.REDIS_URL).path.lstrip("/") or "0").split("/")[0]


async def _subscriber_ids(redis: Redis) -> set[str]:
    """Pub/sub connections of this test's Redis database that hold subscriptions."""
    clients = await redis.client_list(_type="pubsub")
    return {c["id"] for c in clients if c["db"] == _db_index() and int(c.get("sub", 0)) > 0}


async def _until(condition, timeout: float = 10.0) -> None:
    """Wait for an observable condition on the Redis server (there is no event to await)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_a_killed_layer_connection_heals_without_losing_a_notification(user, tokens, settings, caplog):
    if not services_mode() or "pubsub" not in django_settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        pytest.skip("needs the Redis pub/sub channel layer (REDIS_URL, CHANNEL_LAYER_BACKEND=pubsub)")
    settings.NOTIFICATIONS_WS_PING_SECONDS = 60  # recovery must come from the live path, not the ping
    communicator, _ = await ws_ready(tokens["user"])
    redis = Redis.from_url(django_settings.REDIS_URL)
    try:
        before = await _subscriber_ids(redis)
        assert before
        for client_id in before:
            await redis.client_kill_filter(_id=client_id)

        lost = await asend(user_id=user.pk, kind="system.message", title="while reconnecting")
        await _until(lambda: _has_new_subscriber(redis, before))
        live = await asend(user_id=user.pk, kind="system.message", title="after reconnecting")

        first = (await receive_type(communicator, "notification"))["notification"]
        second = (await receive_type(communicator, "notification"))["notification"]
        assert [first["id"], second["id"]] == [str(lost.pk), str(live.pk)]
        assert [first["seq"], second["seq"]] == [1, 2]
    finally:
        await communicator.disconnect()
        await redis.aclose()


async def _has_new_subscriber(redis: Redis, before: set[str]) -> bool:
    return bool(await _subscriber_ids(redis) - before)
