"""`GET /api/v1/notifications/events`: Server-Sent Events as an async streaming response under ASGI.

Order of work on connect: fix the position (`Last-Event-ID`, else `?after=`, else the newest seq now),
join the user's group, replay from the database everything after the position, then forward live
messages. Anything that arrives live while the replay
runs waits in the channel and is skipped if its seq was already replayed, so there is neither a gap
nor a duplicate. A live message whose seq jumps ahead (a push the layer dropped) is preceded by the
missing rows, read from the database.

When the client goes away Django cancels the response task; the generator's `finally` leaves the group
and forgets the channel. Database work runs through `database_sync_to_async`, which hands the
connection back after each call, so an open stream holds no database connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from common.errors import problem_response

from . import selectors
from .push import NOTIFICATION_MESSAGE, READ_MESSAGE, user_group
from .serializers import notification_payload

logger = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"
# Open streams: channel name -> user id. Read by tests and diagnostics; emptied by each stream's `finally`.
OPEN_STREAMS: dict[str, str] = {}
RECEIVE_RETRY_SECONDS = 1.0


def _authenticate(request: HttpRequest) -> Any:
    from auth_app.authentication import authenticate_request

    return authenticate_request(request)


def _parse_position(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if not value.isdigit() or len(value) > 18:
        raise ValueError(value)
    return int(value)


def _event(*, data: dict[str, Any], event: str, event_id: int | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


def _notification_event(payload: dict[str, Any]) -> str:
    return _event(data=payload, event="notification", event_id=int(payload["seq"]))


@database_sync_to_async
def _rows_after(user_id: Any, after_seq: int, up_to_seq: int | None) -> list[dict[str, Any]]:
    rows = selectors.notification_after(
        user_id=user_id, after_seq=after_seq, up_to_seq=up_to_seq, limit=settings.NOTIFICATIONS_REPLAY_PAGE_SIZE
    )
    return [notification_payload(row) for row in rows]


async def replay(user_id: Any, after_seq: int, up_to_seq: int | None = None) -> AsyncIterator[dict[str, Any]]:
    """Payloads of the user's notifications after `after_seq` (through `up_to_seq`), oldest first, page by page."""
    while True:
        page = await _rows_after(user_id, after_seq, up_to_seq)
        for payload in page:
            yield payload
        if len(page) < settings.NOTIFICATIONS_REPLAY_PAGE_SIZE:
            return
        after_seq = int(page[-1]["seq"])


async def event_stream(user_id: Any, after_seq: int | None) -> AsyncIterator[str]:
    """The body of one SSE response; see the module docstring."""
    layer = get_channel_layer()
    assert layer is not None  # noqa: S101 - CHANNEL_LAYERS is always configured
    group = user_group(user_id)
    # Without a position the stream starts "now": take it before joining the group; the replay below
    # then covers anything committed between this read and the join.
    if after_seq is None:
        after_seq = await database_sync_to_async(selectors.notification_last_seq)(user_id=user_id)
    last = after_seq
    channel = await layer.new_channel("notifications.sse.")
    await layer.group_add(group, channel)
    receiver: asyncio.Future[dict[str, Any]] | None = None
    heartbeat = float(settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS)
    try:
        yield f"retry: {settings.NOTIFICATIONS_SSE_RETRY_MS}\n\n"
        async for payload in replay(user_id, last):
            last = int(payload["seq"])
            yield _notification_event(payload)
        OPEN_STREAMS[channel] = str(user_id)  # replayed; from here on only live messages
        while True:
            if receiver is None:
                receiver = asyncio.ensure_future(layer.receive(channel))
            done, _ = await asyncio.wait({receiver}, timeout=heartbeat)
            if not done:
                yield ": heartbeat\n\n"
                continue
            try:
                message = receiver.result()
            except Exception:  # Redis hiccup: catch up from the database, then listen again
                logger.warning("notifications: SSE receive failed for %s; resuming from the database", channel)
                receiver = None
                await asyncio.sleep(RECEIVE_RETRY_SECONDS)
                async for missed in replay(user_id, last):
                    last = int(missed["seq"])
                    yield _notification_event(missed)
                continue
            receiver = None
            if message.get("type") == NOTIFICATION_MESSAGE:
                payload = message["notification"]
                seq = int(payload["seq"])
                if seq <= last:
                    continue
                if seq > last + 1:
                    async for missed in replay(user_id, last, seq - 1):
                        last = int(missed["seq"])
                        yield _notification_event(missed)
                last = seq
                yield _notification_event(payload)
            elif message.get("type") == READ_MESSAGE:
                yield _event(data={k: v for k, v in message.items() if k != "type"}, event="read")
    finally:
        try:
            await layer.group_discard(group, channel)
        except Exception:  # the group entry expires on its own (group_expiry)
            logger.warning("notifications: SSE group_discard failed for %s", channel, exc_info=True)
        if receiver is not None:
            await cancel_receive(receiver)
        OPEN_STREAMS.pop(channel, None)


async def cancel_receive(task: asyncio.Future[Any], attempts: int = 20) -> None:
    """Cancel a pending `layer.receive()` and wait until it has really finished.

    With channels_redis the first cancellation can be absorbed by the Redis client while it is
    inside its blocking pop (the receive would then live on until a message came), so it is repeated.
    """
    for _ in range(attempts):
        task.cancel()
        done, _pending = await asyncio.wait({task}, timeout=0.05)
        if done:
            if not task.cancelled():
                task.exception()  # retrieve it, so asyncio does not log it as never retrieved
            return
    logger.warning("notifications: a channel-layer receive did not stop after %d cancellations", attempts)


@csrf_exempt  # GET only; other methods get 405, not a CSRF 403
async def notification_events(request: HttpRequest) -> HttpResponseBase:
    """Open the user's notification stream (see `NotificationEventsSchemaView` for the documentation)."""
    if request.method != "GET":
        return problem_response(
            status=405,
            code="method_not_allowed",
            detail=f"Method {request.method} is not allowed here; use GET.",
            headers={"Allow": "GET"},
        )
    user = await database_sync_to_async(_authenticate)(request)
    if user is None:
        return problem_response(
            status=401,
            code="not_authenticated",
            detail="Send `Authorization: Bearer <access token>` or a session cookie.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    try:
        header = _parse_position(request.headers.get("Last-Event-ID"))
        query = _parse_position(request.GET.get("after"))
    except ValueError:
        return problem_response(
            status=400,
            code="invalid_event_id",
            detail="Last-Event-ID and `after` must be a notification seq (a whole number >= 0).",
        )
    after_seq = header if header is not None else query
    response = StreamingHttpResponse(event_stream(user.pk, after_seq), content_type=EVENT_STREAM)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
