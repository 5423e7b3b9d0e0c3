"""Streamed request bodies (common/asgi/streaming.py, handler.py) below any app: a plain Django view that
reads its body in pieces, behind the RequestGuard and the streaming handler.

The uploads that use it, end to end, are tested in file_processor/tests/test_streamed_uploads.py.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import RequestAborted

from common.asgi import RequestGuard, StreamedBody, StreamingBodyASGIHandler, body_streamed_for

from .asgi_driver import exchange, http_scope

pytestmark = [pytest.mark.urls("common.tests.urls"), pytest.mark.django_db(transaction=True)]

ECHO = "/api/v1/test/echo-body"
MiB = 1024 * 1024


@pytest.fixture
def streamed(settings):
    settings.REQUEST_BODY_STREAMED = {ECHO: True}
    settings.REQUEST_BODY_LIMITS = {ECHO: 64 * MiB}
    return settings


def _body(size: int, piece: int = 70_001) -> Iterator[bytes]:
    yield b"the first line\n"
    sent = 0
    while sent < size:
        chunk = bytes([sent % 251]) * min(piece, size - sent)
        sent += len(chunk)
        yield chunk


def _scope(*, length: int | None) -> dict[str, Any]:
    framing = ("content-length", str(length)) if length is not None else ("transfer-encoding", "chunked")
    return http_scope(ECHO, headers=[("content-type", "application/octet-stream"), framing])


def test_the_longest_streamed_prefix_decides(settings):
    settings.REQUEST_BODY_STREAMED = {"/up": True, "/up/small": False}
    assert body_streamed_for("/up/1") and body_streamed_for("/up")
    assert not body_streamed_for("/up/small/1") and not body_streamed_for("/down")


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_streamed_body_reaches_a_sync_view_whole(streamed, chunked):
    whole = b"".join(_body(3 * MiB))

    result = await exchange(
        RequestGuard(StreamingBodyASGIHandler()), _scope(length=None if chunked else len(whole)), _body(3 * MiB)
    )

    assert result.status == 200, result.body
    assert result.json() == {
        "first_line": "the first line\n",
        "size": len(whole),
        "sha256": hashlib.sha256(whole).hexdigest(),
    }


async def test_a_chunked_body_past_the_route_limit_is_413_once_the_count_passes_it(streamed):
    streamed.REQUEST_BODY_LIMITS = {ECHO: 1 * MiB}

    result = await exchange(RequestGuard(StreamingBodyASGIHandler()), _scope(length=None), _body(16 * MiB))

    assert result.status == 413 and result.json()["code"] == "payload_too_large"
    assert result.headers["connection"] == "close"
    assert 1 * MiB < result.received <= 1 * MiB + 70_001


async def test_streamed_requests_past_the_thread_cap_wait_unread(streamed):
    """With one slot, a second upload is not read at all until the first has been answered."""
    streamed.ASGI_STREAMED_BODY_THREADS = 1
    streamed.REQUEST_BODY_IDLE_TIMEOUT_SECONDS = 0.5
    handler = StreamingBodyASGIHandler()
    events: list[str] = []
    first_read = asyncio.Event()

    def watched(name: str) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            async def receive_and_note() -> Any:
                message = await receive()
                events.append(f"{name} read")
                first_read.set()
                return message

            async def send_and_note(message: Any) -> None:
                if message["type"] == "http.response.start":
                    events.append(f"{name} answered {message['status']}")
                await send(message)

            await handler(scope, receive_and_note, send_and_note)

        return app

    first = asyncio.ensure_future(exchange(watched("first"), _scope(length=None), _body(MiB), stall_after=1))
    await asyncio.wait_for(first_read.wait(), 10)  # the first holds the slot: its body has started
    second = await exchange(watched("second"), _scope(length=None), _body(MiB))
    stalled = await first

    assert stalled.status == 408 and second.status == 200
    answered = events.index("first answered 408")
    assert "second read" in events and "second read" not in events[:answered]


async def test_a_streamed_request_that_waits_too_long_for_a_slot_is_503_unread(streamed, settings):
    """With one slot held by a stalled upload, the next waits ASGI_STREAMED_BODY_SLOT_WAIT_SECONDS, then
    is told to come back; the slot is free again once the first is answered."""
    streamed.ASGI_STREAMED_BODY_THREADS = 1
    streamed.REQUEST_BODY_IDLE_TIMEOUT_SECONDS = 5
    settings.ASGI_STREAMED_BODY_SLOT_WAIT_SECONDS = 0.2
    handler = StreamingBodyASGIHandler()
    first_read = asyncio.Event()

    async def first_app(scope: Any, receive: Any, send: Any) -> None:
        async def receive_and_note() -> Any:
            first_read.set()
            return await receive()

        await handler(scope, receive_and_note, send)

    first = asyncio.ensure_future(exchange(first_app, _scope(length=None), _body(MiB), stall_after=1))
    await asyncio.wait_for(first_read.wait(), 10)

    refused = await exchange(handler, _scope(length=None), _body(MiB))

    assert refused.status == 503 and refused.json()["code"] == "service_unavailable"
    assert refused.headers["retry-after"] == str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)
    assert refused.headers["connection"] == "close" and refused.received == 0
    assert (await asyncio.wait_for(first, 15)).status == 408
    settings.ASGI_STREAMED_BODY_SLOT_WAIT_SECONDS = 5
    assert (await exchange(handler, _scope(length=None), _body(MiB))).status == 200  # the slot came back


async def test_a_full_buffer_stops_the_reading_until_the_view_takes_from_it():
    message = 64 * 1024
    received = 0

    async def receive() -> dict[str, Any]:  # a client that has sent 64 MiB already
        nonlocal received
        received += message
        return {"type": "http.request", "body": b"x" * message, "more_body": received < 64 * MiB}

    body = StreamedBody(receive, limit=1 << 40, buffer_bytes=MiB, idle_timeout=5)
    assert await asyncio.to_thread(body.read, 1) == b"x"
    for _ in range(1_000):  # let the pump run as far as it will (unbounded: all 64 MiB at once)
        await asyncio.sleep(0)
    assert received <= MiB + 2 * message

    assert len(await asyncio.to_thread(body.read, 4 * MiB)) == message - 1  # what is left of the first message
    assert await asyncio.to_thread(body.read, 4 * MiB) == b"x" * message
    body.close()
    await asyncio.wait_for(body.stopped(), 5)
    with pytest.raises(RequestAborted):
        await asyncio.to_thread(body.read, 1)
