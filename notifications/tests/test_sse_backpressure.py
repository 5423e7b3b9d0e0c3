"""SSE backpressure end to end: a real uvicorn server, real TCP, and a client that stops reading.

uvicorn serves `config.asgi:application` on an ephemeral port of 127.0.0.1, in the test's own event
loop (as in `test_slow_consumer_server.py`: the embedded mode's in-memory layer and the publish from
`notification_send_many` share that loop). A raw TCP client with a small receive buffer opens
`GET /api/v1/notifications/events`, reads the headers, the `retry:` advice and one live notification,
then stops reading. The kernel buffers fill, uvicorn's `send` waits, the stream's generator is stuck
at a `yield`, and its drain task keeps receiving into the stream's bounded buffer until
NOTIFICATIONS_SSE_MAX_PENDING messages wait; the next one ends it: the stream leaves the group and
receives no more. When the client reads again it gets every notification the server buffered, in seq
order, then `event: error` `{"code": "slow_consumer"}`, and the response ends.

What the test observes about our code it gets by wrapping, never replacing, two methods of
`notifications.sse._Inbox`: `_put` (the buffer's size after each message) and `_overflow` (when the
stream gave up).
"""

import asyncio
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from notifications import services, sse
from notifications.push import NOTIFICATION_MESSAGE, user_group

from .conftest import group_members, layer_holds_channel

pytestmark = pytest.mark.django_db(transaction=True)
logger = logging.getLogger(__name__)

asend_many = database_sync_to_async(services.notification_send_many)

PATH = "/api/v1/notifications/events"
MAX_PENDING = 8
CLIENT_RCVBUF = 4096  # Linux doubles it and sizes the advertised TCP window from it
MAX_ROUNDS = 2000  # upper bound on publishing; a few hundred ~19 KB pushes fill the loopback buffers
WAIT = 10.0  # upper bound for anything the test waits for


@dataclass
class Observed:
    """What the wrapped `_Inbox` methods saw."""

    inboxes: list[Any] = field(default_factory=list)
    high_water: int = 0
    buffered_seqs: list[int] = field(default_factory=list)  # seqs in the buffer at its fullest
    buffered_bytes: int = 0
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
def observed(monkeypatch) -> Observed:
    seen = Observed()
    put = sse._Inbox._put
    overflow = sse._Inbox._overflow

    def recording_put(self: Any, message: dict[str, Any]) -> bool:
        fitted = put(self, message)
        if self not in seen.inboxes:
            seen.inboxes.append(self)
        if len(self.messages) >= seen.high_water:
            seen.high_water = len(self.messages)
            seen.buffered_seqs = [
                int(m["notification"]["seq"]) for m in self.messages if m.get("type") == NOTIFICATION_MESSAGE
            ]
            seen.buffered_bytes = sum(len(json.dumps(m)) for m in self.messages)
        return fitted

    async def recording_overflow(self: Any) -> None:
        try:
            await overflow(self)
        finally:
            seen.overflowed.set()

    monkeypatch.setattr(sse._Inbox, "_put", recording_put)
    monkeypatch.setattr(sse._Inbox, "_overflow", recording_overflow)
    return seen


@pytest.fixture
async def served(settings) -> AsyncIterator[int]:
    """uvicorn serving config.asgi:application on 127.0.0.1:<port>, in this event loop; yields the port."""
    settings.NOTIFICATIONS_SSE_MAX_PENDING = MAX_PENDING
    settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = 60.0  # no heartbeat during the test
    from config.asgi import application

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)  # connections wait in the backlog until uvicorn accepts: no readiness polling
    config = uvicorn.Config(
        application, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=int(WAIT)
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=2 * WAIT)
        assert not server.server_state.tasks  # every connection's ASGI task has finished


class RawClient:
    """An HTTP/1.1 client on a plain socket, reading only when told to."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.raw = b""
        self.eof = False

    async def read_some(self) -> None:
        chunk = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 65536), WAIT)
        self.raw += chunk
        self.eof = chunk == b""

    def split(self) -> tuple[bytes, str, bool]:
        """(head, the dechunked body so far, whether the terminating chunk arrived)."""
        head, _, rest = self.raw.partition(b"\r\n\r\n")
        body = b""
        while True:
            size_line, found, after = rest.partition(b"\r\n")
            if not found:
                return head, body.decode(), False
            size = int(size_line, 16)
            if len(after) < size + 2:
                return head, body.decode(), False
            if size == 0:
                return head, body.decode(), True
            body += after[:size]
            rest = after[size + 2 :]

    def blocks(self) -> list[str]:
        """The complete blank-line-terminated SSE blocks received so far."""
        _head, body, _complete = self.split()
        return body.split("\n\n")[:-1]


def _parse(block: str) -> dict[str, Any]:
    fields = dict(line.split(": ", 1) for line in block.split("\n") if not line.startswith(":"))
    if "data" in fields:
        fields["data"] = json.loads(fields["data"])
    return fields


def _payload(round_: int) -> dict[str, Any]:
    """About 19 KB of JSON per notification, incompressible."""
    return {
        "kind": "system.message",
        "title": f"flood {round_}",
        "body": os.urandom(2000).hex(),
        "data": {"pad": os.urandom(7500).hex()},
    }


async def test_a_stuck_sse_client_holds_a_bounded_buffer_then_gets_slow_consumer(served, observed, user, access_token):
    layer = get_channel_layer()
    group = user_group(user.pk)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RCVBUF)  # before connecting: sizes the window
    sock.setblocking(False)
    client = RawClient(sock)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", served))
        request = (
            f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {access_token}\r\n"
            "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())

        # Headers and the retry advice: the stream has joined the group and its drain task runs.
        while not client.blocks():
            await client.read_some()
        head, _, _ = client.split()
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"content-type: text/event-stream" in head.lower()
        assert client.blocks()[0].startswith("retry: ")
        (channel,) = await group_members(group)

        # One live notification, read: the stream works.
        await asend_many(user_ids=[user.pk], **_payload(1))
        while len(client.blocks()) < 2:
            await client.read_some()
        first = _parse(client.blocks()[1])
        assert (first["id"], first["event"]) == ("1", "notification")

        # The client stops reading; notifications keep coming until the stream gives up.
        rounds = 1
        while not observed.overflowed.is_set():
            assert rounds < MAX_ROUNDS, "the stream never gave up on the client that stopped reading"
            rounds += 1
            await asend_many(user_ids=[user.pk], **_payload(rounds))
        (inbox,) = observed.inboxes
        assert inbox.channel == channel

        # The buffer never held more than the limit, and it did fill; the stream left the group,
        # and its drain task has ended: nothing more is received for it.
        assert observed.high_water == MAX_PENDING
        assert len(inbox.messages) == MAX_PENDING
        assert inbox.overflowed and inbox.task.done() and inbox.task.exception() is None
        assert await group_members(group) == set()
        queued_at_overflow = _layer_queued(layer, channel)
        for _ in range(3 * MAX_PENDING):
            rounds += 1
            await asend_many(user_ids=[user.pk], **_payload(rounds))
        assert len(inbox.messages) == MAX_PENDING
        assert _layer_queued(layer, channel) == queued_at_overflow <= MAX_PENDING
        logger.info(
            "stuck SSE client: %d rounds until overflow, buffer high water %d messages (%d bytes), layer queue %d",
            rounds - 3 * MAX_PENDING,
            observed.high_water,
            observed.buffered_bytes,
            queued_at_overflow,
        )

        # The client reads again: everything the server buffered, in seq order with no gap, then the
        # slow_consumer end event, then the end of the response and of the connection.
        while not client.eof:
            await client.read_some()
    finally:
        sock.close()
    _head, _body, complete = client.split()
    assert complete, "the response did not end"
    events = [_parse(block) for block in client.blocks()[1:]]
    *notifications, end = events
    assert end["event"] == "error" and "id" not in end
    assert end["data"]["code"] == "slow_consumer"
    assert {event["event"] for event in notifications} == {"notification"}
    seqs = [int(event["id"]) for event in notifications]
    assert seqs == list(range(1, len(seqs) + 1))
    assert set(observed.buffered_seqs) <= set(seqs) and seqs[-1] == max(observed.buffered_seqs)
    assert len(seqs) < rounds  # the rest is in the database, for the reconnect with Last-Event-ID
    logger.info("after reading again: %d notifications, then slow_consumer", len(seqs))

    # The server side of the stream is gone: its generator's `finally` ran before the response ended.
    assert channel not in sse.OPEN_STREAMS
    assert not await layer_holds_channel(channel)
    assert await group_members(group) == set()


def _layer_queued(layer: Any, channel: str) -> int:
    """Messages the channel layer itself still queues for `channel` in this process."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    if isinstance(layer, RedisPubSubChannelLayer):
        queue = layer._get_layer().channels.get(channel)
    else:
        queue = getattr(layer, "channels", {}).get(channel)
    return 0 if queue is None else queue.qsize()
