"""SSE and the open-stream caps (common.streams): 429 past a cap, 503 when the registry is down, slots freed."""

from __future__ import annotations

import json

import pytest

from notifications import sse

from .test_sse import Stream, _open_stream_channel

pytestmark = pytest.mark.django_db(transaction=True)


async def _refused(stream: Stream) -> tuple[dict[str, str], dict]:
    start = await stream.open()
    body = json.loads(await stream.body())
    return {**stream.headers, "status": str(start["status"])}, body


async def test_a_stream_past_the_user_cap_is_429_and_a_closed_stream_frees_its_slot(user, access_token, settings):
    settings.STREAMS_MAX_PER_USER = 1
    first = Stream({"Authorization": f"Bearer {access_token}"})
    assert (await first.open())["status"] == 200
    await _open_stream_channel(user.pk)

    headers, body = await _refused(Stream({"Authorization": f"Bearer {access_token}"}))

    assert headers["status"] == "429" and headers["content-type"] == "application/problem+json"
    assert body["code"] == "too_many_streams"
    assert int(headers["retry-after"]) >= 1

    await first.close()
    assert not sse.OPEN_STREAMS
    again = Stream({"Authorization": f"Bearer {access_token}"})
    assert (await again.open())["status"] == 200
    await again.close()


async def test_the_stream_registry_down_is_503_before_streaming(user, access_token, monkeypatch):
    from common.errors import ServiceUnavailable

    async def unavailable(**kwargs):
        raise ServiceUnavailable("down", headers={"Retry-After": "5"})

    monkeypatch.setattr(sse, "stream_slots_acquire", unavailable)

    headers, body = await _refused(Stream({"Authorization": f"Bearer {access_token}"}))

    assert headers["status"] == "503" and body["code"] == "service_unavailable"
    assert headers["retry-after"] == "5"
