"""Cross-process delivery, and publishing from sync code that has no event loop (Celery workers)."""

import asyncio
import os
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from notifications.push import user_group
from notifications.tasks import notification_send_task

from .conftest import database_url, receive_type, services_mode, ws_ready

BASE_DIR = Path(settings.BASE_DIR)


@pytest.mark.django_db(transaction=True)
async def test_notification_sent_by_another_process_reaches_the_socket(user, tokens):
    if not services_mode():
        pytest.skip("embedded mode has an in-process channel layer; cross-process fan-out needs REDIS_URL + PostgreSQL")
    communicator, _ = await ws_ready(tokens["user"])
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "manage.py",
        "notification_send",
        "--user-id",
        str(user.pk),
        "--title",
        "from another process",
        "--data",
        '{"pid": "other"}',
        cwd=BASE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    message = await receive_type(communicator, "notification", timeout=10)
    assert message["notification"]["title"] == "from another process"
    assert message["notification"]["data"] == {"pid": "other"}
    assert f'"seq": {message["notification"]["seq"]}' in out.decode()
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
def test_sync_publishing_outside_an_event_loop_survives_repeated_calls(user, caplog):
    """What a Celery worker does: each task publishes with async_to_sync on a fresh loop."""
    layer = get_channel_layer()

    def send_three() -> None:  # a worker thread with no event loop, like a Celery task
        for index in range(3):
            notification_send_task.apply(
                kwargs={"user_id": str(user.pk), "kind": "system.message", "title": f"t{index}"}
            )

    async def server_side() -> list[int]:  # one loop, as in a server process
        channel = await layer.new_channel()
        await layer.group_add(user_group(user.pk), channel)
        await asyncio.to_thread(send_three)
        seqs = [(await layer.receive(channel))["notification"]["seq"] for _ in range(3)]
        await layer.group_discard(user_group(user.pk), channel)
        return seqs

    with caplog.at_level("WARNING", logger="notifications.push"):
        assert async_to_sync(server_side)() == [1, 2, 3]
    assert not [r for r in caplog.records if r.name == "notifications.push"], caplog.text


@pytest.mark.django_db(transaction=True)
async def test_an_idle_socket_outlives_the_layers_socket_timeout(user, tokens):
    if not services_mode():
        pytest.skip("the in-memory layer has no Redis connection to go idle")
    communicator, _ = await ws_ready(tokens["user"])
    await asyncio.sleep(11)  # the behaviour under test is idleness past the layer's 10 s socket timeout
    await asyncio.to_thread(
        notification_send_task.apply,
        kwargs={"user_id": str(user.pk), "kind": "system.message", "title": "after idling"},
    )
    assert (await receive_type(communicator, "notification"))["notification"]["title"] == "after idling"
    await communicator.disconnect()
