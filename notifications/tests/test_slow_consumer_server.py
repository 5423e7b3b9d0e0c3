"""Backpressure end to end: a real uvicorn server, real TCP, and a client that stops reading.

`test_slow_consumer.py` fakes the stuck writer; here nothing of ours is faked. uvicorn serves
`config.asgi:application` on an ephemeral port of 127.0.0.1, a client with a small receive buffer
authenticates, gets `ready` and then never reads. The kernel buffers fill, uvicorn pauses the
consumer's writer, the bounded outbox fills, and the consumer closes the socket with 4008, while
another user's client on the same server keeps receiving.

What happens (uvicorn 0.54, its default websockets-sansio protocol, Linux loopback): the server's
kernel send buffer grows to ~3.9 MB, so ~150 notifications of ~19 KB (2.9 MB) are written before
uvicorn's transport buffer passes its high-water mark and its `send` waits; then the outbox fills
(here the byte budget: 3 frames) and after NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS the consumer closes.
uvicorn's `send` waits for the transport to drain for every message, `websocket.close` included,
so the close frame goes out only once the client reads again. The client then gets every frame
that was buffered, in seq order, and the 4008 close frame, whether it reads while the consumer still
waits for the close or only after NOTIFICATIONS_WS_CLOSE_TIMEOUT_SECONDS (before the consumer kept
its close pending past that timeout, the late reader got the frames and then an open, silent socket).

The server runs as a task in the test's own event loop, not in a thread with a loop of its own:
the embedded mode's InMemoryChannelLayer keeps asyncio queues that belong to one loop, and
`notification_send_many` publishes through `async_to_sync`, which from a `database_sync_to_async`
thread runs the publish on the test's loop. In one loop the publisher, the consumers and the layer
share that loop in both modes, `asyncio.all_tasks()` shows the server's tasks, and pytest-django's
`settings` overrides reach the consumers. (`Server.serve` installs its SIGINT/SIGTERM handlers for
the duration of the test and restores them afterwards.) The listening socket is bound by the test
and handed to uvicorn, so connections wait in the backlog until it accepts: no polling for readiness.

What the test observes about our code it gets by wrapping, never replacing, three methods:
`NotificationConsumer.on_authenticated` (to find each consumer and its task),
`NotificationConsumer._close_slow` (to know when the server has given up waiting for the close) and
`Outbox._append` (to record the largest the queue ever was).
"""

import asyncio
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

from notifications import services
from notifications.consumers import CLOSE_SLOW_CONSUMER, NotificationConsumer
from notifications.outbox import Outbox
from notifications.push import user_group

from .conftest import WS_PATH, group_members

pytestmark = pytest.mark.django_db(transaction=True)
logger = logging.getLogger(__name__)

asend_many = database_sync_to_async(services.notification_send_many)

MAX_PENDING = 8
MAX_PENDING_BYTES = 64 * 1024
CLIENT_RCVBUF = 4096  # Linux doubles it (8 KiB) and sizes the advertised window from it
MAX_ROUNDS = 2000  # upper bound on publishing; ~150 rounds (about 3 MB) fill the buffers on Linux loopback
WAIT = 10.0  # upper bound for anything the test waits for


@dataclass
class Observed:
    """What the wrapped methods saw."""

    consumers: list[Any] = field(default_factory=list)
    high_water: dict[int, tuple[int, int]] = field(default_factory=dict)  # id(outbox) -> (entries, bytes)
    slow_closing: asyncio.Event = field(default_factory=asyncio.Event)
    slow_close_returned: asyncio.Event = field(default_factory=asyncio.Event)

    def consumer_of(self, user: Any) -> Any:
        (consumer,) = [consumer for consumer in self.consumers if consumer.scope["user"].pk == user.pk]
        return consumer


@pytest.fixture
def observed(monkeypatch) -> Observed:
    seen = Observed()
    on_authenticated = NotificationConsumer.on_authenticated
    close_slow = NotificationConsumer._close_slow
    append = Outbox._append

    async def recording_on_authenticated(self: Any) -> None:
        self.test_task = asyncio.current_task()  # the server's task running this consumer
        seen.consumers.append(self)
        await on_authenticated(self)

    async def recording_close_slow(self: Any) -> None:
        seen.slow_closing.set()
        try:
            await close_slow(self)
        finally:
            seen.slow_close_returned.set()

    def recording_append(self: Outbox, message: dict[str, Any], text: str) -> None:
        append(self, message, text)
        entries, size = seen.high_water.get(id(self), (0, 0))
        seen.high_water[id(self)] = (max(entries, self.qsize()), max(size, self.pending_bytes))

    monkeypatch.setattr(NotificationConsumer, "on_authenticated", recording_on_authenticated)
    monkeypatch.setattr(NotificationConsumer, "_close_slow", recording_close_slow)
    monkeypatch.setattr(Outbox, "_append", recording_append)
    return seen


@dataclass
class Served:
    server: uvicorn.Server
    port: int

    @property
    def uri(self) -> str:
        return f"ws://127.0.0.1:{self.port}{WS_PATH}"


@pytest.fixture
async def served(settings) -> AsyncIterator[Served]:
    """uvicorn serving config.asgi:application on 127.0.0.1:<ephemeral>, in this event loop."""
    settings.NOTIFICATIONS_WS_MAX_PENDING = MAX_PENDING
    settings.NOTIFICATIONS_WS_MAX_PENDING_BYTES = MAX_PENDING_BYTES
    settings.NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS = 0.5
    settings.NOTIFICATIONS_WS_CLOSE_TIMEOUT_SECONDS = 0.5
    from config.asgi import application

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        application, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=int(WAIT)
    )
    uvicorn_server = uvicorn.Server(config)
    serving = asyncio.create_task(uvicorn_server.serve(sockets=[listener]))
    try:
        yield Served(uvicorn_server, port)
    finally:
        uvicorn_server.should_exit = True
        await asyncio.wait_for(serving, timeout=2 * WAIT)
        assert not uvicorn_server.server_state.tasks  # every connection's ASGI task has finished


async def _connect(uri: str, token: str, **kwargs: Any) -> ClientConnection:
    # The page's own origin: scheme, host and port of the server (the Origin check compares all three).
    origin, subprotocols = Origin(f"http://{urlsplit(uri).netloc}"), [Subprotocol("bearer"), Subprotocol(token)]
    client = await connect(uri, origin=origin, subprotocols=subprotocols, **kwargs)
    ready = json.loads(await asyncio.wait_for(client.recv(), WAIT))
    assert ready == {"type": "ready", "last_seq": 0}
    return client


async def _next_notification(client: ClientConnection) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(client.recv(), WAIT))
        if message["type"] == "notification":
            return message["notification"]
        assert message["type"] in ("ping", "read"), message


def _payload(round_: int) -> dict[str, Any]:
    """About 19 KB of JSON per notification: the largest body, most of the data budget, incompressible."""
    return {
        "kind": "system.message",
        "title": f"flood {round_}",
        "body": os.urandom(2000).hex(),  # NOTIFICATIONS_BODY_MAX_CHARS 4000
        "data": {"pad": os.urandom(7500).hex()},  # NOTIFICATIONS_DATA_MAX_BYTES 16 KiB
    }


def _belongs_to(task: "asyncio.Task[Any]", consumer: Any) -> bool:
    """Whether a coroutine in `task`'s await chain works for `consumer` (holds it or its channel)."""
    coroutine: Any = task.get_coro()
    while coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "ag_frame", None)
        if frame is not None and any(
            value is consumer or value == consumer.channel_name for value in frame.f_locals.values()
        ):
            return True
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "ag_await", None)
    return False


@pytest.mark.parametrize("reads", ["after_the_close_timeout", "during_the_close_timeout"])
async def test_a_client_that_stops_reading_is_closed_4008_without_stalling_others(
    reads, served, observed, user, other_user, tokens, settings
):
    """The slow client starts reading again only after the consumer stopped waiting for its close
    (NOTIFICATIONS_WS_CLOSE_TIMEOUT_SECONDS 0.5), or while it still waits (the timeout raised to WAIT)."""
    late = reads == "after_the_close_timeout"
    if not late:
        settings.NOTIFICATIONS_WS_CLOSE_TIMEOUT_SECONDS = WAIT
    uri = served.uri
    healthy = await _connect(uri, tokens["other"])
    tasks_before = asyncio.all_tasks()

    # The slow client: a small receive buffer set before connecting (it sizes the TCP window), no
    # compression (so the bytes on the wire are the bytes queued), and the client library's own
    # queue reduced to one frame, above which it stops reading the socket.
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RCVBUF)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", served.port))
    slow = await _connect(uri, tokens["user"], sock=raw, compression=None, max_queue=1, ping_interval=None)
    slow_consumer = observed.consumer_of(user)
    healthy_consumer = observed.consumer_of(other_user)

    # Flood both users with the same notifications; the healthy client reads each one before the next.
    rounds = 0
    while not observed.slow_closing.is_set():
        assert rounds < MAX_ROUNDS, "the server never closed the client that stopped reading"
        rounds += 1
        await asend_many(user_ids=[user.pk, other_user.pk], **_payload(rounds))
        assert (await _next_notification(healthy))["seq"] == rounds
    # The server is closing the slow client; the healthy one still gets everything, at once.
    for _ in range(3):
        rounds += 1
        await asend_many(user_ids=[user.pk, other_user.pk], **_payload(rounds))
        assert (await _next_notification(healthy))["seq"] == rounds

    if late:
        await asyncio.wait_for(observed.slow_close_returned.wait(), WAIT)
    else:
        assert not observed.slow_close_returned.is_set()
    # Either way the close frame is queued behind the bytes the client has not read (uvicorn writes
    # nothing while its transport is paused): the consumer is closing, its writer and pinger are
    # stopped, and its task still runs (it ends once the close is written or the connection is lost).
    assert slow_consumer._closing
    assert not slow_consumer.test_task.done()
    assert slow_consumer._writer.done() and (slow_consumer._pinger is None or slow_consumer._pinger.done())

    # The queue never held more than its limits, and it did fill: the next ~19 KB frame did not fit.
    entries, size = observed.high_water[id(slow_consumer.outbox)]
    assert entries <= MAX_PENDING and size <= MAX_PENDING_BYTES
    assert entries == MAX_PENDING or size > MAX_PENDING_BYTES - 20_000

    # Now the slow client reads: every frame the server buffered, in seq order with no gap, then the
    # close frame with 4008 (the server wrote it as soon as its buffer drained).
    seqs: list[int] = []
    received = 0
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            try:
                frame = await asyncio.wait_for(slow.recv(), WAIT)
            except TimeoutError:
                pytest.fail(f"after {len(seqs)} frames the socket stayed open and silent: no close frame, no close")
            received += len(frame)
            message = json.loads(frame)
            if message["type"] != "ping":
                assert message["type"] == "notification", message
                seqs.append(message["notification"]["seq"])
    assert closed.value.rcvd is not None, "the server dropped the connection without a close frame"
    assert closed.value.rcvd.code == CLOSE_SLOW_CONSUMER
    assert seqs == list(range(1, len(seqs) + 1))
    assert 0 < len(seqs) < rounds
    logger.info("slow client: %d rounds, %d frames (%d bytes) buffered, then 4008", rounds, len(seqs), received)
    await asyncio.wait_for(observed.slow_close_returned.wait(), WAIT)  # the close went out: nobody waits for it

    # The server side of the slow connection is gone: its consumer task, every task it started, its
    # group membership, and no task is left over from it (the healthy client's tasks predate it).
    done, _ = await asyncio.wait({slow_consumer.test_task}, timeout=WAIT)
    assert done == {slow_consumer.test_task} and slow_consumer.test_task.exception() is None
    assert slow_consumer._releaser is None or slow_consumer._releaser.done()
    assert await group_members(user_group(user.pk)) == set()
    current = asyncio.current_task()
    new_tasks = {task for task in asyncio.all_tasks() - tasks_before if task is not current}
    leftover = {task for task in new_tasks if not _belongs_to(task, healthy_consumer)}
    if leftover:
        await asyncio.wait(leftover, timeout=WAIT)
    assert [task for task in leftover if not task.done()] == []
    assert [task for task in asyncio.all_tasks() if task is not current and _belongs_to(task, slow_consumer)] == []
    assert len(served.server.server_state.connections) == 1  # the healthy one

    # And the healthy client is still served.
    rounds += 1
    await asend_many(user_ids=[user.pk, other_user.pk], **_payload(rounds))
    assert (await _next_notification(healthy))["seq"] == rounds
    assert not healthy_consumer._closing and not healthy_consumer.test_task.done()
    await healthy.close()
    done, _ = await asyncio.wait({healthy_consumer.test_task}, timeout=WAIT)
    assert done == {healthy_consumer.test_task}
