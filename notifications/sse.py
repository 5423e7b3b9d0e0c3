"""`GET /api/v1/notifications/events`: Server-Sent Events as an async streaming response under ASGI.

Order of work on connect: fix the position (`Last-Event-ID`, else `?after=`, else the newest seq now;
a position above the newest seq counts as "now"), join the user's group, replay from the database
everything after the position, then forward live messages. Duplicates and gaps are handled by
`notifications.stream.Position` (shared with the WebSocket consumer).

The stream also joins its credential's groups (`auth_app.streams.stream_groups`): a revoked session
(logout, logout-all, password change) ends it at once, and a change to the user's credentials (a cookie
session logged out, a key revoked, the user deactivated) makes it re-check at once. Each heartbeat
re-checks the credential too (`auth_app.streams.stream_credential_is_valid`: a Bearer token's session not
revoked, an API key not revoked, a Django session still logged in, the user still active) in case a push
was lost, re-joins the groups (the membership expires, a Redis restart forgets it) and sends whatever
the database holds above the last id sent (a dropped last push). A Bearer stream ends when its access
token expires. A stream that ends for these reasons sends a final `event: error` (`{"code": ...}`)
first; the client reconnects with fresh credentials and `Last-Event-ID`.

The channel is drained by a task of its own into a bounded buffer (`_Inbox`), so a client that stops
reading (the generator then waits at a `yield` while the server's send blocks) does not make the
channel layer hold every push for it: once NOTIFICATIONS_SSE_MAX_PENDING messages wait, the stream
leaves the group and stops receiving, and when the generator runs again it sends what it buffered
and ends with `event: error` `{"code": "slow_consumer"}`; the client reconnects with `Last-Event-ID`
and the database replays the rest.

Each stream holds one of its user's and its client IP's slots (common.streams; 429 `too_many_streams`
past a cap, 503 when Redis is unreachable, both before streaming), released when the stream ends.

When the client goes away Django cancels the response task; the generator's `finally` leaves the group,
stops the drain task and forgets the channel. Database reads go through `stream.read_only`, which hands
the connection back after each call, so an open stream holds no database connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from auth_app.streams import (
    StreamCredential,
    stream_credential_for_request,
    stream_credential_is_valid,
    stream_groups,
    stream_message_verdict,
)
from common.channels import cancel_until_done, channel_release
from common.errors import ApplicationError, ValidationFailed, problem_response
from common.net import client_ip
from common.streams import StreamLease, StreamsFull, stream_slots_acquire
from common.strict import parse_ascii_int, query_param

from .push import EVENT_MESSAGE, NOTIFICATION_MESSAGE, READ_MESSAGE, user_group
from .stream import Payload, Position, clamp_position, read_only

logger = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"
# Largest seq accepted in `Last-Event-ID` / `?after=` (18 digits; documented in the schema).
MAX_POSITION = 10**18 - 1
# Open streams: channel name -> user id. Read by tests and diagnostics; emptied by each stream's `finally`.
OPEN_STREAMS: dict[str, str] = {}
RECEIVE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class StreamAuth:
    """Who the stream is for, and the credential it was opened with (auth_app re-checks it)."""

    user: Any
    credential: StreamCredential

    @property
    def expires_at(self) -> float | None:
        """A Bearer token's expiry (epoch seconds); None for an API key or a session cookie."""
        return self.credential.expires_at

    def still_valid(self) -> bool:
        """auth_app's one re-check; an unreachable cache ends the stream too (never a pass)."""
        try:
            return stream_credential_is_valid(self.credential)
        except ApplicationError:
            return False


def _authenticate(request: HttpRequest) -> StreamAuth | None:
    found = stream_credential_for_request(request)
    return StreamAuth(user=found[0], credential=found[1]) if found is not None else None


def _parse_position(raw: str | None) -> int | None:
    """A seq from `Last-Event-ID` / `?after=`: ASCII digits, 0 to MAX_POSITION (`٣` is not 3); ValueError else."""
    if raw is None:
        return None
    return parse_ascii_int(raw.strip(), maximum=MAX_POSITION)


def _event(*, data: dict[str, Any], event: str, event_id: int | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


def _notification_event(payload: Payload) -> str:
    return _event(data=payload, event="notification", event_id=int(payload["seq"]))


def _end_event(code: str, detail: str) -> str:
    return _event(data={"code": code, "detail": detail}, event="error")


def _revoked_event() -> str:
    return _end_event("credentials_revoked", "The session or key was revoked, or the user deactivated.")


class _Inbox:
    """The stream's channel, drained by a task of its own into a buffer of at most `limit` messages.

    The generator reads the buffer (`pop`), in the order the layer delivered the messages. A message
    that finds the buffer full is dropped, the channel leaves the group and the task ends
    (`overflowed`): the stream holds no more than `limit` messages however long its client stops
    reading, and the database still has everything. A failed receive is retried after
    RECEIVE_RETRY_SECONDS and flagged (`receive_failed`) so the generator catches up from the database.
    """

    def __init__(self, layer: Any, channel: str, group: str, limit: int) -> None:
        self.layer = layer
        self.channel = channel
        self.group = group
        self.limit = max(1, limit)
        self.messages: deque[dict[str, Any]] = deque()
        self.overflowed = False
        self.receive_failed = False
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] = asyncio.ensure_future(self._drain())

    def _put(self, message: dict[str, Any]) -> bool:
        """Buffer one received message; False when the buffer is full."""
        if len(self.messages) >= self.limit:
            return False
        self.messages.append(message)
        self._changed.set()
        return True

    async def _overflow(self) -> None:
        """Stop holding messages for this stream: leave the group; the generator ends the stream."""
        self.overflowed = True
        self._changed.set()
        logger.info("notifications: SSE stream %s fell %d messages behind; ending it", self.channel, self.limit)
        try:
            await self.layer.group_discard(self.group, self.channel)
        except Exception:  # the group entry expires on its own (group_expiry)
            logger.warning("notifications: SSE group_discard failed for %s", self.channel, exc_info=True)

    async def _drain(self) -> None:
        while True:
            try:  # awaited here, not in a task of its own: cancelling this task cancels the receive
                message = await self.layer.receive(self.channel)
            except Exception:  # Redis hiccup: listen again, and have the generator catch up from the database
                logger.warning("notifications: SSE receive failed for %s; resuming from the database", self.channel)
                await asyncio.sleep(RECEIVE_RETRY_SECONDS)
                self.receive_failed = True
                self._changed.set()
                continue
            if not self._put(message):
                await self._overflow()
                return

    def pending(self) -> bool:
        return bool(self.messages) or self.overflowed or self.receive_failed

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for something to handle; False when the time ran out."""
        if self.pending():
            return True
        self._changed.clear()
        try:
            async with asyncio.timeout(timeout):
                await self._changed.wait()
        except TimeoutError:
            return self.pending()
        return True

    def pop(self) -> dict[str, Any] | None:
        return self.messages.popleft() if self.messages else None

    async def close(self) -> None:
        """Stop the drain task and wait until it has finished."""
        await cancel_until_done(self.task)


async def _send_all(position: Position, payloads: AsyncIterator[Payload]) -> AsyncIterator[str]:
    async for payload in payloads:
        position.sent(payload)
        yield _notification_event(payload)


async def event_stream(auth: StreamAuth, after_seq: int | None) -> AsyncIterator[str]:
    """The body of one SSE response; see the module docstring."""
    layer = get_channel_layer()
    assert layer is not None  # noqa: S101 - CHANNEL_LAYERS is always configured
    user_id = auth.user.pk
    group = user_group(user_id)
    # The position is fixed before joining the group; the catch-up after the join covers what
    # committed in between.
    start, _head = await clamp_position(user_id, after_seq)
    position = Position(user_id, start)
    channel = await layer.new_channel("notifications.sse.")
    # The credential's groups (auth_app): a revoked session or a changed credential reaches the stream at once.
    groups = [group, *stream_groups(auth.credential)]
    for name in groups:
        await layer.group_add(name, channel)
    inbox = _Inbox(layer, channel, group, int(settings.NOTIFICATIONS_SSE_MAX_PENDING))
    heartbeat = float(settings.NOTIFICATIONS_SSE_HEARTBEAT_SECONDS)
    try:
        yield f"retry: {settings.NOTIFICATIONS_SSE_RETRY_MS}\n\n"
        async for event in _send_all(position, position.catch_up()):
            yield event
        OPEN_STREAMS[channel] = str(user_id)  # replayed; from here on only live messages
        while True:
            wait = heartbeat
            if auth.expires_at is not None:
                remaining = auth.expires_at - time.time()
                if remaining <= 0:
                    yield _end_event("token_expired", "The access token expired; reconnect with a fresh one.")
                    return
                wait = min(wait, remaining)
            if not await inbox.wait(wait):
                if wait < heartbeat:
                    continue  # woken for the token's expiry, handled at the top of the loop
                if not await read_only(auth.still_valid):
                    yield _revoked_event()
                    return
                if not inbox.overflowed:
                    try:
                        for name in groups:  # membership expires; a Redis restart forgets it
                            await layer.group_add(name, channel)
                        if inbox.overflowed:  # the drain task gave up meanwhile: its discard may have come first
                            await layer.group_discard(group, channel)
                    except Exception:
                        logger.warning("notifications: SSE re-joining %s failed", group, exc_info=True)
                async for event in _send_all(position, position.catch_up()):
                    yield event
                yield ": heartbeat\n\n"
                continue
            message = inbox.pop()
            if message is None:
                if inbox.receive_failed:
                    inbox.receive_failed = False
                    async for event in _send_all(position, position.catch_up()):
                        yield event
                    continue
                # inbox.overflowed: everything buffered has been sent; the database has the rest.
                yield _end_event(
                    "slow_consumer", "The stream fell too far behind; reconnect with Last-Event-ID to catch up."
                )
                return
            if message.get("type") == NOTIFICATION_MESSAGE:
                async for event in _send_all(position, position.live(message["notification"])):
                    yield event
            elif message.get("type") == READ_MESSAGE:
                yield _event(data={k: v for k, v in message.items() if k != "type"}, event="read")
            elif message.get("type") == EVENT_MESSAGE:
                yield _event(data=message["data"], event=message["event"])
            elif (verdict := stream_message_verdict(auth.credential, message)) is not None and (
                verdict == "close" or not await read_only(auth.still_valid)
            ):
                yield _revoked_event()
                return
    finally:
        for name in groups:
            try:
                await layer.group_discard(name, channel)
            except Exception:  # the group entry expires on its own (group_expiry)
                logger.warning("notifications: SSE group_discard failed for %s", channel, exc_info=True)
        await inbox.close()
        await channel_release(layer, channel)
        OPEN_STREAMS.pop(channel, None)


async def _leased(lease: StreamLease, events: AsyncIterator[str]) -> AsyncIterator[str]:
    """`events`, holding the stream's slots while it runs and giving them back when it ends."""
    async with lease.held(), contextlib.aclosing(events) as stream:  # type: ignore[type-var]
        async for event in stream:
            yield event


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
    try:
        auth = await database_sync_to_async(_authenticate)(request)
    except ApplicationError as exc:  # e.g. the denylist cache is down: 503, not 500
        return problem_response(status=exc.status, code=exc.code, detail=exc.detail, headers=exc.headers)
    if auth is None:
        return problem_response(
            status=401,
            code="not_authenticated",
            detail="Send `Authorization: Bearer <access token>` or a session cookie.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    try:
        header = _parse_position(request.headers.get("Last-Event-ID"))
        query = _parse_position(query_param(request.GET, "after"))
    except (ValueError, ValidationFailed):
        return problem_response(
            status=400,
            code="invalid_event_id",
            detail="Last-Event-ID and `after` must be a notification seq (a whole number >= 0).",
        )
    after_seq = header if header is not None else query
    try:  # one of the user's and the client IP's stream slots (common.streams), or 429 / 503 before streaming
        lease = await stream_slots_acquire(user_id=auth.user.pk, ip=client_ip(request))
    except StreamsFull as full:
        return problem_response(
            status=429,
            code="too_many_streams",
            detail=f"This {'account' if full.which == 'user' else 'client address'} already has {full.limit} "
            "open streams (WebSockets included); close one first.",
            headers={"Retry-After": str(full.retry_after)},
        )
    except ApplicationError as exc:  # the cache (Redis) is unreachable: 503
        return problem_response(status=exc.status, code=exc.code, detail=exc.detail, headers=exc.headers)
    response = StreamingHttpResponse(_leased(lease, event_stream(auth, after_seq)), content_type=EVENT_STREAM)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
