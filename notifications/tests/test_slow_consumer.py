"""Backpressure: a client that does not read is closed with 4008 instead of growing the server's memory.

`WebsocketCommunicator` buffers output without limit, so the client cannot "stop reading" here; the
writer task is made to block instead (as it does on a real server when the socket's send buffer is
full), and the consumer's bounded queue is observed directly.
"""

import asyncio
from typing import Any

import pytest
from channels.routing import URLRouter
from django.urls import re_path

from auth_app.ws import WebSocketAuthMiddleware
from notifications.consumers import CLOSE_SLOW_CONSUMER, NotificationConsumer

from .conftest import asend, ws_client

pytestmark = pytest.mark.django_db(transaction=True)


class StuckWriterConsumer(NotificationConsumer):
    """Sends `ready`, then its writer blocks for ever, like a send to a client that stopped reading."""

    instances: list["StuckWriterConsumer"] = []
    high_water = 0

    async def on_authenticated(self) -> None:
        StuckWriterConsumer.instances.append(self)
        self.sent = 0
        await super().on_authenticated()

    async def transmit(self, message: dict[str, Any], text: str) -> None:
        StuckWriterConsumer.high_water = max(StuckWriterConsumer.high_water, self.outbox.qsize())
        if self.sent >= 1:
            await asyncio.Event().wait()
        self.sent += 1
        await super().transmit(message, text)

    async def _send(self, message: dict[str, Any]) -> bool:
        result = await super()._send(message)
        StuckWriterConsumer.high_water = max(StuckWriterConsumer.high_water, self.outbox.qsize())
        return result


APPLICATION = WebSocketAuthMiddleware(URLRouter([re_path(r"^ws/notifications$", StuckWriterConsumer.as_asgi())]))


@pytest.fixture(autouse=True)
def _small_queue(settings):
    settings.NOTIFICATIONS_WS_MAX_PENDING = 4
    settings.NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS = 0.2
    StuckWriterConsumer.instances = []
    StuckWriterConsumer.high_water = 0


async def _connect(token: str):
    communicator = ws_client(token, application=APPLICATION)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    return communicator


async def test_live_messages_beyond_the_queue_close_4008(user, tokens):
    communicator = await _connect(tokens["user"])
    for index in range(30):
        await asend(user_id=user.pk, kind="system.message", title=f"flood {index}")
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_SLOW_CONSUMER}
    (consumer,) = StuckWriterConsumer.instances
    assert StuckWriterConsumer.high_water <= 4  # never more than NOTIFICATIONS_WS_MAX_PENDING queued
    assert consumer.outbox.qsize() <= 4
    assert consumer._writer is not None and consumer._writer.done()
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()


async def test_a_resume_that_cannot_be_written_closes_4008(user, tokens):
    for index in range(10):
        await asend(user_id=user.pk, kind="system.message", title=f"backlog {index}")
    communicator = await _connect(tokens["user"])
    await communicator.send_json_to({"type": "resume", "after": 0})
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_SLOW_CONSUMER}
    assert StuckWriterConsumer.high_water <= 4
    await communicator.disconnect()


async def test_a_reading_client_is_never_closed(user, tokens, settings):
    """The same flood through the normal consumer is delivered in full."""
    from .conftest import receive_type, ws_ready

    communicator, _ = await ws_ready(tokens["user"])
    for index in range(30):
        await asend(user_id=user.pk, kind="system.message", title=f"flood {index}")
        await receive_type(communicator, "notification")
    await communicator.disconnect()


class BlipWriterConsumer(NotificationConsumer):
    """Its writer stalls until the test lets it go: a client that is briefly slow, then reads again."""

    instances: list["BlipWriterConsumer"] = []
    go = asyncio.Event()

    async def on_authenticated(self) -> None:
        BlipWriterConsumer.instances.append(self)
        self.sent = 0
        await super().on_authenticated()

    async def transmit(self, message: dict[str, Any], text: str) -> None:
        if self.sent >= 1:  # after `ready`
            await BlipWriterConsumer.go.wait()
        self.sent += 1
        await super().transmit(message, text)


async def test_a_brief_stall_does_not_close_a_healthy_client(user, tokens, settings):
    settings.NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS = 10
    BlipWriterConsumer.instances = []
    BlipWriterConsumer.go = asyncio.Event()
    application = WebSocketAuthMiddleware(URLRouter([re_path(r"^ws/notifications$", BlipWriterConsumer.as_asgi())]))
    communicator = ws_client(tokens["user"], application=application)
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    (consumer,) = BlipWriterConsumer.instances
    for index in range(8):  # twice the queue
        await asend(user_id=user.pk, kind="system.message", title=f"burst {index}")
    while consumer.outbox.qsize() < 4:  # the queue is full: the consumer now waits for room
        await asyncio.sleep(0.01)
    BlipWriterConsumer.go.set()
    seqs: list[int] = []
    while len(seqs) < 8:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "notification":
            seqs.append(message["notification"]["seq"])
    assert seqs == list(range(1, 9))
    await communicator.disconnect()


async def test_the_byte_budget_closes_4008(user, tokens, settings):
    settings.NOTIFICATIONS_WS_MAX_PENDING = 1000
    settings.NOTIFICATIONS_WS_MAX_PENDING_BYTES = 4000
    communicator = await _connect(tokens["user"])
    for index in range(10):
        await asend(user_id=user.pk, kind="system.message", title=f"big {index}", data={"pad": "x" * 1500})
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_SLOW_CONSUMER}
    (consumer,) = StuckWriterConsumer.instances
    assert consumer.outbox.qsize() < 4  # the bytes, not the 1000 entries, were the limit
    assert consumer.outbox.pending_bytes <= 4000
    await communicator.disconnect()


class StuckCloseConsumer(StuckWriterConsumer):
    """Its close never completes (a peer that does not take the close frame)."""

    gave_up = asyncio.Event()

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        await asyncio.Event().wait()

    async def _close_slow(self) -> None:
        await super()._close_slow()
        StuckCloseConsumer.gave_up.set()


async def test_closing_a_slow_consumer_cannot_hang(user, tokens, settings):
    settings.NOTIFICATIONS_WS_CLOSE_TIMEOUT_SECONDS = 0.1
    StuckCloseConsumer.gave_up = asyncio.Event()
    application = WebSocketAuthMiddleware(URLRouter([re_path(r"^ws/notifications$", StuckCloseConsumer.as_asgi())]))
    communicator = ws_client(tokens["user"], application=application)
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    for index in range(10):
        await asend(user_id=user.pk, kind="system.message", title=f"flood {index}")
    await asyncio.wait_for(StuckCloseConsumer.gave_up.wait(), timeout=5)
    await communicator.disconnect()
