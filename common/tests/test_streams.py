"""common.streams: per-user and per-IP caps on open streams, counted in the cache (Redis in services mode)."""

from __future__ import annotations

import asyncio

import pytest
from django.test import override_settings

from common import streams
from common.errors import ServiceUnavailable
from common.streams import StreamsFull, stream_slots_acquire

from .servers import CLOSED
from .test_health import redis_cache_at


@pytest.fixture(autouse=True)
def _small_caps(settings):
    settings.STREAMS_MAX_PER_USER = 3
    settings.STREAMS_MAX_PER_IP = 5


class Clock:
    def __init__(self, monkeypatch) -> None:
        import time

        self.now = time.time()
        monkeypatch.setattr(streams.time, "time", lambda: self.now)


async def test_a_user_gets_no_more_than_its_cap_and_a_release_frees_one():
    leases = [await stream_slots_acquire(user_id="u1", ip="192.0.2.1") for _ in range(3)]

    with pytest.raises(StreamsFull) as full:
        await stream_slots_acquire(user_id="u1", ip="192.0.2.1")
    assert full.value.which == "user" and full.value.limit == 3
    other = await stream_slots_acquire(user_id="u2", ip="192.0.2.1")  # another user from the same address

    await leases[0].release()
    await leases[0].release()  # idempotent: frees one slot, not two
    leases[0] = await stream_slots_acquire(user_id="u1", ip="192.0.2.1")
    with pytest.raises(StreamsFull):
        await stream_slots_acquire(user_id="u1", ip="192.0.2.1")
    for lease in [*leases, other]:
        await lease.release()


async def test_an_address_gets_no_more_than_its_cap_across_users():
    leases = [await stream_slots_acquire(user_id=f"u{n}", ip="192.0.2.9") for n in range(5)]

    with pytest.raises(StreamsFull) as full:
        await stream_slots_acquire(user_id="u99", ip="192.0.2.9")
    assert full.value.which == "ip"
    # A refused attempt took nothing: u99 still has all its slots elsewhere.
    elsewhere = [await stream_slots_acquire(user_id="u99", ip="198.51.100.1") for _ in range(3)]
    for lease in [*leases, *elsewhere]:
        await lease.release()


async def test_ipv6_addresses_share_their_64():
    leases = [await stream_slots_acquire(user_id=f"u{n}", ip=f"2001:db8:1:2::{n}") for n in range(5)]
    with pytest.raises(StreamsFull):
        await stream_slots_acquire(user_id="x", ip="2001:db8:1:2:ffff::1")
    for lease in leases:
        await lease.release()


async def test_slots_of_a_crashed_process_expire_after_the_lease(monkeypatch, settings):
    settings.STREAMS_LEASE_SECONDS = 60
    clock = Clock(monkeypatch)
    for _ in range(3):  # taken and never released nor refreshed: the process died
        await stream_slots_acquire(user_id="u1", ip="192.0.2.1")
    with pytest.raises(StreamsFull):
        await stream_slots_acquire(user_id="u1", ip="192.0.2.1")

    clock.now += 61

    lease = await stream_slots_acquire(user_id="u1", ip="192.0.2.1")
    await lease.release()


async def test_a_refreshed_slot_outlives_its_first_lease(monkeypatch, settings):
    settings.STREAMS_LEASE_SECONDS = 60
    clock = Clock(monkeypatch)
    held = [await stream_slots_acquire(user_id="u1", ip="192.0.2.1") for _ in range(3)]

    clock.now += 50
    for lease in held:  # what the refresh loop does every third of the lease
        await streams._in_thread(lease.backend.refresh, lease.keys, lease.member, 60.0)
    clock.now += 50

    with pytest.raises(StreamsFull):
        await stream_slots_acquire(user_id="u1", ip="192.0.2.1")
    for lease in held:
        await lease.release()


async def test_held_releases_when_the_block_ends_however_it_ends():
    lease = await stream_slots_acquire(user_id="u1", ip="192.0.2.1")
    with pytest.raises(RuntimeError):
        async with lease.held():
            assert lease._refresher is not None and not lease._refresher.done()
            raise RuntimeError("the stream failed")
    assert lease.released and lease._refresher is not None and lease._refresher.cancelled()
    again = [await stream_slots_acquire(user_id="u1", ip="192.0.2.1") for _ in range(3)]
    for other in again:
        await other.release()


async def test_concurrent_opens_never_pass_the_cap():
    results = await asyncio.gather(
        *(stream_slots_acquire(user_id="u1", ip=f"192.0.2.{n}") for n in range(12)), return_exceptions=True
    )
    granted = [r for r in results if not isinstance(r, BaseException)]
    assert len(granted) == 3
    assert all(isinstance(r, StreamsFull) for r in results if isinstance(r, BaseException))
    for lease in granted:
        await lease.release()


async def test_an_unreachable_redis_is_service_unavailable():
    with override_settings(CACHES=redis_cache_at(CLOSED)), pytest.raises(ServiceUnavailable) as caught:
        await stream_slots_acquire(user_id="u1", ip="192.0.2.1")
    assert caught.value.headers["Retry-After"] == "5"
