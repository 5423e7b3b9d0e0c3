"""WebSocket: authentication, live delivery, resume without gaps or duplicates, read, ping."""

import pytest
from channels.db import database_sync_to_async

from notifications import selectors
from notifications.models import Notification

from .conftest import asend, receive_type, ws_client, ws_ready

pytestmark = pytest.mark.django_db(transaction=True)


async def test_live_notification_reaches_owner(user, tokens):
    communicator, ready = await ws_ready(tokens["user"])
    assert ready["last_seq"] == 0
    sent = await asend(user_id=user.pk, kind="system.message", title="Hi", data={"x": 1})
    message = await receive_type(communicator, "notification")
    assert message["notification"]["id"] == str(sent.pk)
    assert message["notification"]["seq"] == 1
    assert message["notification"]["data"] == {"x": 1}
    await communicator.disconnect()


async def test_anonymous_socket_is_closed_4401(settings):
    settings.WS_AUTH_TIMEOUT_SECONDS = 0.05
    communicator = ws_client(None)
    connected, _ = await communicator.connect()
    assert connected
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_bad_token_is_closed_4401():
    communicator = ws_client("not-a-token")
    connected, _ = await communicator.connect()
    if connected:
        assert (await communicator.receive_output(timeout=5))["code"] == 4401
    else:
        assert _ == 4401


async def test_first_message_auth(user, tokens):
    communicator = ws_client(None)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "auth", "token": tokens["user"]})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    await asend(user_id=user.pk, kind="system.message", title="after first-message auth")
    assert (await receive_type(communicator, "notification"))["notification"]["title"] == "after first-message auth"
    await communicator.disconnect()


async def test_resume_replays_missed_then_live_without_duplicates(user, tokens, settings):
    settings.NOTIFICATIONS_REPLAY_PAGE_SIZE = 2
    for index in range(5):
        await asend(user_id=user.pk, kind="system.message", title=f"old {index}")
    communicator, ready = await ws_ready(tokens["user"])
    assert ready["last_seq"] == 5
    await communicator.send_json_to({"type": "resume", "after": 2})
    replayed = [(await receive_type(communicator, "notification"))["notification"]["seq"] for _ in range(3)]
    assert replayed == [3, 4, 5]
    assert (await receive_type(communicator, "resumed"))["last_seq"] == 5
    await asend(user_id=user.pk, kind="system.message", title="new")
    assert (await receive_type(communicator, "notification"))["notification"]["seq"] == 6
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()


async def test_resume_while_live_messages_arrive_has_no_gap_or_duplicate(user, tokens):
    """Notifications sent while the replay runs are delivered exactly once, in seq order."""
    for index in range(3):
        await asend(user_id=user.pk, kind="system.message", title=f"old {index}")
    communicator, _ = await ws_ready(tokens["user"])
    await communicator.send_json_to({"type": "resume", "after": 0})
    seqs: list[int] = [(await receive_type(communicator, "notification"))["notification"]["seq"]]
    for index in range(3):  # while the replay is still being written out
        await asend(user_id=user.pk, kind="system.message", title=f"during {index}")
    resumed = None
    while len(seqs) < 6 or resumed is None:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "notification":
            seqs.append(message["notification"]["seq"])
        elif message["type"] == "resumed":
            resumed = message
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert resumed["last_seq"] == 3
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()


async def test_dropped_push_is_filled_from_the_database(user, tokens, monkeypatch):
    """A live message that skips seqs (earlier pushes lost) is preceded by the rows it skipped."""
    import notifications.services as services_module

    communicator, _ = await ws_ready(tokens["user"])
    with monkeypatch.context() as patched:
        patched.setattr(services_module, "group_send_after_commit", lambda outgoing: None)
        await asend(user_id=user.pk, kind="system.message", title="lost 1")
        await asend(user_id=user.pk, kind="system.message", title="lost 2")
    await asend(user_id=user.pk, kind="system.message", title="arrives")
    titles = [(await receive_type(communicator, "notification"))["notification"]["title"] for _ in range(3)]
    assert titles == ["lost 1", "lost 2", "arrives"]
    await communicator.disconnect()


async def test_read_message_marks_read_and_echoes_receipt(user, tokens):
    communicator, _ = await ws_ready(tokens["user"])
    sent = await asend(user_id=user.pk, kind="system.message", title="to read")
    await receive_type(communicator, "notification")
    await communicator.send_json_to({"type": "read", "id": str(sent.pk)})
    receipt = await receive_type(communicator, "read")
    assert receipt["ids"] == [str(sent.pk)]
    assert await database_sync_to_async(selectors.notification_unread_count)(user=user) == 0
    await communicator.disconnect()


async def test_read_of_foreign_or_bad_id_is_an_error_message(user, other_user, tokens):
    theirs = await asend(user_id=other_user.pk, kind="system.message", title="not yours")
    communicator, _ = await ws_ready(tokens["user"])
    for bad in (str(theirs.pk), "nope", None):
        await communicator.send_json_to({"type": "read", "id": bad})
        error = await receive_type(communicator, "error")
        assert error["code"] == "notification_not_found"
    assert (await database_sync_to_async(Notification.objects.get)(pk=theirs.pk)).read_at is None
    await communicator.disconnect()


@pytest.mark.parametrize("message", [{"type": "resume", "after": -1}, {"type": "resume", "after": "3"}, {"type": "x"}])
async def test_invalid_client_messages_get_error(tokens, message):
    communicator, _ = await ws_ready(tokens["user"])
    await communicator.send_json_to(message)
    assert (await receive_type(communicator, "error"))["code"] in ("invalid_resume", "unknown_type")
    await communicator.disconnect()


async def test_non_object_message_closes_4400(tokens):
    communicator, _ = await ws_ready(tokens["user"])
    await communicator.send_to(text_data="[1, 2]")
    assert (await communicator.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4400}


async def test_server_pings(tokens, settings):
    settings.NOTIFICATIONS_WS_PING_SECONDS = 0.01
    communicator, _ = await ws_ready(tokens["user"])
    assert (await communicator.receive_json_from(timeout=5)) == {"type": "ping", "last_seq": 0}
    await communicator.send_json_to({"type": "ping"})
    while (message := await communicator.receive_json_from(timeout=5))["type"] == "ping":
        pass
    assert message == {"type": "pong"}
    await communicator.disconnect()
