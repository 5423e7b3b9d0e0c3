"""Caps on open streams (WebSockets and SSE together) per user and per client IP.

`await stream_slots_acquire(user_id=..., ip=...)` takes one slot under each key or raises
`StreamsFull` (which cap) or `ServiceUnavailable` (the cache is unreachable). The returned
`StreamLease` is held while the stream is open: `async with lease.held():` refreshes it every third
of STREAMS_LEASE_SECONDS and releases it on exit; `await lease.release()` releases it from anywhere.

Counting: in services mode a Redis sorted set per key (`streams:user:<id>`, `streams:ip:<ip>`) whose
members are the open streams, scored by when their lease runs out. Taking a slot is one Lua script
(drop expired members, compare the count with the cap, add), so concurrent opens on any number of
processes never pass a cap. A process that dies without releasing leaves members that expire after
STREAMS_LEASE_SECONDS (and the key itself expires when no stream refreshes it). Embedded mode is one
process: the same structure in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from common.errors import ServiceUnavailable

__all__ = ["StreamLease", "StreamsFull", "stream_slots_acquire", "streams_forget_all"]

# Members whose lease ran out are dropped, then every key must be under its cap, then the member is
# added under every key. Returns 0, or the 1-based index of the first key at its cap.
_ACQUIRE = """
local now, expires, member, ttl = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[4 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, expires, member)
  redis.call('EXPIRE', key, ttl)
end
return 0
"""


class StreamsFull(Exception):
    """The user or the client IP already holds its maximum of open streams."""

    def __init__(self, which: str, limit: int) -> None:
        self.which = which  # "user" | "ip"
        self.limit = limit
        super().__init__(f"{which} stream limit {limit} reached")

    @property
    def retry_after(self) -> int:
        """Seconds after which a slot left by a crashed process has certainly expired."""
        return max(1, math.ceil(float(settings.STREAMS_LEASE_SECONDS)))


def _ip_key(ip: str) -> str:
    """The client IP, with IPv6 reduced to its /64 (as the rate limiter counts it)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


# --- the two counters: Redis (services mode) and process memory (embedded mode) -----------------------


class _RedisSlots:
    def __init__(self) -> None:
        self._script: Any = None

    def _client(self) -> Any:
        return caches["default"]._cache.get_client(write=True)  # type: ignore[attr-defined]

    def acquire(self, keys: list[str], caps: list[int], member: str, lease: float) -> int:
        client = self._client()
        if self._script is None:
            self._script = client.register_script(_ACQUIRE)
        now = time.time()
        ttl = math.ceil(lease) + 1
        result = self._script(keys=keys, args=[now, now + lease, member, ttl, *caps], client=client)
        return int(result)

    def refresh(self, keys: list[str], member: str, lease: float) -> None:
        pipe = self._client().pipeline(transaction=False)
        for key in keys:
            pipe.zadd(key, {member: time.time() + lease})
            pipe.expire(key, math.ceil(lease) + 1)
        pipe.execute()

    def release(self, keys: list[str], member: str) -> None:
        pipe = self._client().pipeline(transaction=False)
        for key in keys:
            pipe.zrem(key, member)
        pipe.execute()


class _MemorySlots:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, float]] = {}

    def acquire(self, keys: list[str], caps: list[int], member: str, lease: float) -> int:
        now = time.time()
        with self._lock:
            for index, (key, cap) in enumerate(zip(keys, caps, strict=True), start=1):
                live = {m: t for m, t in self._sets.get(key, {}).items() if t > now}
                self._sets[key] = live
                if len(live) >= cap:
                    return index
            for key in keys:
                self._sets[key][member] = now + lease
        return 0

    def refresh(self, keys: list[str], member: str, lease: float) -> None:
        with self._lock:
            for key in keys:
                self._sets.setdefault(key, {})[member] = time.time() + lease

    def release(self, keys: list[str], member: str) -> None:
        with self._lock:
            for key in keys:
                members = self._sets.get(key)
                if members is not None:
                    members.pop(member, None)
                    if not members:
                        del self._sets[key]


_redis_slots = _RedisSlots()
_memory_slots = _MemorySlots()


def streams_forget_all() -> None:
    """Empty the embedded mode's in-process counters (tests; Redis's go with the cache's flush)."""
    with _memory_slots._lock:
        _memory_slots._sets.clear()


def _backend() -> _RedisSlots | _MemorySlots:
    return _redis_slots if isinstance(caches["default"], RedisCache) else _memory_slots


def _call(func: Any, *args: Any) -> Any:
    """Run a counter operation; an unreachable Redis is ServiceUnavailable."""
    from redis.exceptions import RedisError

    try:
        return func(*args)
    except (RedisError, OSError) as exc:
        raise ServiceUnavailable("The stream registry (cache) is unavailable; retry later.") from exc


_in_thread = sync_to_async(_call, thread_sensitive=False)


# --- the lease ------------------------------------------------------------------------------------


@dataclass
class StreamLease:
    """One open stream's slots. Refresh it while the stream is open (`held`), release it when it ends."""

    keys: list[str]
    member: str
    backend: _RedisSlots | _MemorySlots
    released: bool = False
    _refresher: asyncio.Task[None] | None = field(default=None, repr=False)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[StreamLease]:
        """Keep the slots while the block runs; release them when it ends (however it ends)."""
        self.start_refreshing()
        try:
            yield self
        finally:
            await self.release()

    def start_refreshing(self) -> None:
        if self._refresher is None and not self.released:
            self._refresher = asyncio.create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        lease = float(settings.STREAMS_LEASE_SECONDS)
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await _in_thread(self.backend.refresh, self.keys, self.member, lease)
            except ServiceUnavailable:  # try again next time; the slot expires if Redis stays away
                continue

    async def release(self) -> None:
        """Give the slots back (idempotent; a failure leaves them to expire)."""
        if self.released:
            return
        self.released = True
        if self._refresher is not None:
            self._refresher.cancel()
        with contextlib.suppress(ServiceUnavailable):
            await asyncio.shield(_in_thread(self.backend.release, self.keys, self.member))


async def stream_slots_acquire(*, user_id: Any, ip: str) -> StreamLease:
    """Take a stream slot for `user_id` and for client `ip`; see the module docstring."""
    cache = caches["default"]
    keys = [cache.make_key(f"streams:user:{user_id}"), cache.make_key(f"streams:ip:{_ip_key(ip)}")]
    caps = [int(settings.STREAMS_MAX_PER_USER), int(settings.STREAMS_MAX_PER_IP)]
    member = uuid.uuid4().hex
    backend = _backend()
    full = await _in_thread(backend.acquire, keys, caps, member, float(settings.STREAMS_LEASE_SECONDS))
    if full:
        raise StreamsFull(("user", "ip")[full - 1], caps[full - 1])
    return StreamLease(keys=keys, member=member, backend=backend)
