"""Ephemeral events (`notification_event_publish`): live on WebSocket and SSE, never stored, never replayed."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from common.errors import ValidationFailed
from notifications import services
from notifications.models import Notification

from .conftest import receive_type, ws_ready

pytestmark = pytest.mark.django_db(transaction=True)


async def test_event_reaches_the_users_socket_and_is_not_stored(user, tokens):
    communicator, _ready = await ws_ready(tokens["user"])
    try:
        await database_sync_to_async(services.notification_event_publish)(
            user_id=user.pk, event="file.conversion.progress", data={"job_id": "j1", "progress": 40}
        )
        message = await receive_type(communicator, "event")
        assert message == {
            "type": "event",
            "event": "file.conversion.progress",
            "data": {"job_id": "j1", "progress": 40},
        }
        assert not await database_sync_to_async(Notification.objects.exists)()
    finally:
        await communicator.disconnect()


async def test_event_for_another_user_does_not_arrive(user, other_user, tokens):
    communicator, _ready = await ws_ready(tokens["user"])
    try:
        await database_sync_to_async(services.notification_event_publish)(
            user_id=other_user.pk, event="file.conversion.progress", data={"n": 1}
        )
        await database_sync_to_async(services.notification_event_publish)(
            user_id=user.pk, event="file.conversion.progress", data={"n": 2}
        )
        assert (await receive_type(communicator, "event"))["data"] == {"n": 2}
    finally:
        await communicator.disconnect()


def test_event_name_must_be_dotted_lowercase(user):
    with pytest.raises(ValidationFailed):
        services.notification_event_publish(user_id=user.pk, event="Bad Name", data={})
