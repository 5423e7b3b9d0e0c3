"""Status and progress reach the owner's notification socket live; the end is also a stored notification."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from file_processor.services import conversion_start, file_store_bytes

from .samples import image_bytes

pytestmark = pytest.mark.django_db(transaction=True)


async def ws_ready(token: str) -> WebsocketCommunicator:
    """A notifications socket (bearer subprotocol) that has joined its group."""
    from config.asgi import application

    communicator = WebsocketCommunicator(
        application,
        "/ws/notifications",
        headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")],
        subprotocols=["bearer", token],
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    return communicator


async def receive_type(communicator: WebsocketCommunicator, kind: str) -> dict:
    while True:
        message = await communicator.receive_json_from(timeout=10)
        if message["type"] == kind:
            return message
        assert message["type"] in ("ping", "read", "event", "notification"), message


@pytest.fixture(autouse=True)
async def _stray_tasks(stray_tasks_cancelled):
    yield


def _start(user):
    stored = file_store_bytes(owner=user, content=image_bytes("PNG", (200, 100)), filename="a.png")
    return conversion_start(user=user, file_id=stored.pk, target_format="webp", options={"width": 50})


async def test_conversion_pushes_status_progress_and_final_notification(user, make_access_token, settings):
    settings.NOTIFICATIONS_WS_RESUME_GRACE_SECONDS = 0
    token = await database_sync_to_async(make_access_token)(user)
    communicator = await ws_ready(token)
    try:
        job = await database_sync_to_async(_start)(user)  # autocommit: queued, then run (eager) at once
        events: list[dict] = []
        while not events or events[-1]["event"] not in ("file.conversion.succeeded", "file.conversion.failed"):
            events.append(await receive_type(communicator, "event"))
        names = [event["event"] for event in events]
        assert names[0] == "file.conversion.queued" and names[1] == "file.conversion.processing"
        assert names[-1] == "file.conversion.succeeded"
        assert "file.conversion.progress" in names
        progress = [event["data"]["progress"] for event in events]
        assert progress == sorted(progress) and progress[-1] == 100
        assert all(event["data"]["id"] == str(job.pk) for event in events)
        note = await receive_type(communicator, "notification")
        assert note["notification"]["kind"] == "file.converted"
        assert note["notification"]["data"]["job_id"] == str(job.pk)
    finally:
        await communicator.disconnect()
