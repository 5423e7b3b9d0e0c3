"""Delivery guarantees added after review: lost group membership and a dropped last push are healed by
the ping; a late `resume` never duplicates or reorders; database reads do not queue behind the one
thread-sensitive thread; a slow moment does not close a healthy client."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from notifications import services
from notifications.push import notification_message, user_group
from notifications.stream import shared_cache_sqlite

from .conftest import asend, group_members, layer_holds_channel, receive_type, ws_ready

pytestmark = pytest.mark.django_db(transaction=True)


async def _seqs_until_resumed(communicator) -> tuple[list[int], dict]:
    seqs: list[int] = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "notification":
            seqs.append(message["notification"]["seq"])
        elif message["type"] == "resumed":
            return seqs, message
        else:
            assert message["type"] in ("ping", "read"), message


async def test_ping_rejoins_the_group_and_fills_what_was_missed(user, tokens, settings):
    """Group membership gone (expiry, Redis flush): the next ping re-joins and sends the missed row."""
    settings.NOTIFICATIONS_WS_PING_SECONDS = 0.2
    communicator, _ = await ws_ready(tokens["user"])
    assert (await communicator.receive_json_from(timeout=5)) == {"type": "ping", "last_seq": 0}
    group = user_group(user.pk)
    (channel,) = await group_members(group)
    await get_channel_layer().group_discard(group, channel)

    sent = await asend(user_id=user.pk, kind="system.message", title="while out of the group")

    message = await receive_type(communicator, "notification")
    assert message["notification"]["id"] == str(sent.pk)
    ping = await receive_type(communicator, "ping")
    assert ping["last_seq"] == 1
    assert channel in await group_members(group)  # back in the group: the next push is live again
    await communicator.disconnect()


async def test_a_dropped_last_push_arrives_with_the_next_ping(user, tokens, settings, monkeypatch):
    settings.NOTIFICATIONS_WS_PING_SECONDS = 0.2
    communicator, _ = await ws_ready(tokens["user"])
    await receive_type(communicator, "ping")
    with monkeypatch.context() as patched:  # the push is lost on the way (the layer dropped it)
        patched.setattr(services, "group_send_after_commit", lambda outgoing: None)
        await asend(user_id=user.pk, kind="system.message", title="push lost")
    assert (await receive_type(communicator, "notification"))["notification"]["title"] == "push lost"
    await communicator.disconnect()


async def test_resume_after_a_live_message_yields_each_seq_once_ascending(user, tokens, settings):
    settings.NOTIFICATIONS_WS_RESUME_GRACE_SECONDS = 30  # the resume below ends the hold, not the clock
    for index in range(3):
        await asend(user_id=user.pk, kind="system.message", title=f"old {index}")
    communicator, ready = await ws_ready(tokens["user"])
    assert ready["last_seq"] == 3
    await asend(user_id=user.pk, kind="system.message", title="live before the resume")  # seq 4
    await communicator.send_json_to({"type": "resume", "after": 1})
    seqs, resumed = await _seqs_until_resumed(communicator)
    assert seqs == [2, 3, 4]
    assert resumed["last_seq"] == 4
    await asend(user_id=user.pk, kind="system.message", title="new")
    assert (await receive_type(communicator, "notification"))["notification"]["seq"] == 5
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()


async def test_a_late_resume_replays_only_what_this_socket_has_not_sent(user, tokens, settings):
    settings.NOTIFICATIONS_WS_RESUME_GRACE_SECONDS = 0  # live delivery starts at once
    for index in range(3):
        await asend(user_id=user.pk, kind="system.message", title=f"old {index}")
    communicator, _ = await ws_ready(tokens["user"])
    await asend(user_id=user.pk, kind="system.message", title="live")
    assert (await receive_type(communicator, "notification"))["notification"]["seq"] == 4
    await communicator.send_json_to({"type": "resume", "after": 1})
    seqs, resumed = await _seqs_until_resumed(communicator)
    assert seqs == [2, 3]  # 4 was already sent: not again
    assert resumed["last_seq"] == 4
    await communicator.send_json_to({"type": "resume", "after": 0})
    seqs, _ = await _seqs_until_resumed(communicator)
    assert seqs == [1]
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()


async def test_resume_beyond_the_newest_seq_counts_as_now(user, tokens):
    await asend(user_id=user.pk, kind="system.message", title="one")
    communicator, _ = await ws_ready(tokens["user"])
    await communicator.send_json_to({"type": "resume", "after": 999})
    seqs, resumed = await _seqs_until_resumed(communicator)
    assert (seqs, resumed["last_seq"]) == ([], 1)
    await asend(user_id=user.pk, kind="system.message", title="two")
    assert (await receive_type(communicator, "notification"))["notification"]["seq"] == 2
    await communicator.disconnect()


async def test_replay_does_not_wait_for_the_thread_sensitive_thread(user, tokens):
    """With the one thread-sensitive thread busy (as with 2,000 sockets queueing on it), a resume
    still reads the database and answers."""
    if shared_cache_sqlite():
        pytest.skip("the in-memory SQLite test database is read on the thread-sensitive thread (table locks)")
    for index in range(2):
        await asend(user_id=user.pk, kind="system.message", title=f"old {index}")
    communicator, _ = await ws_ready(tokens["user"])
    release = threading.Event()
    busy = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)())
    try:
        await communicator.send_json_to({"type": "resume", "after": 0})
        seqs, _ = await _seqs_until_resumed(communicator)
        assert seqs == [1, 2]
    finally:
        release.set()
        await busy
    await communicator.disconnect()


async def test_read_only_calls_hand_their_connections_back(user, settings):
    """More reads than the pool holds connections: each must return its connection (a leak would
    exhaust the pool and time out)."""
    from notifications import selectors
    from notifications.stream import read_only

    calls = 30 if shared_cache_sqlite() else int(settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]) + 10
    results = [await read_only(selectors.notification_last_seq, user_id=user.pk) for _ in range(calls)]
    assert results == [0] * calls


async def test_a_socket_closed_with_pushes_still_queued_leaves_no_channel_behind(user, tokens, monkeypatch):
    """The layer's receive already holds the next push when the socket goes: nothing may stay subscribed."""
    from notifications.consumers import NotificationConsumer

    gate = asyncio.Event()
    entered = asyncio.Event()
    original = NotificationConsumer.notification_message

    async def held(self, event):  # a busy consumer: the first push blocks it, the others queue up
        entered.set()
        await gate.wait()
        await original(self, event)

    monkeypatch.setattr(NotificationConsumer, "notification_message", held)
    communicator, _ = await ws_ready(tokens["user"])
    (channel,) = await group_members(user_group(user.pk))
    for index in range(3):
        await get_channel_layer().group_send(user_group(user.pk), notification_message({"seq": 100 + index}))
    await asyncio.wait_for(entered.wait(), 5)
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    gate.set()
    await communicator.wait(timeout=5)
    assert not await layer_holds_channel(channel)
