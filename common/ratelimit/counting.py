"""A policy's count, the revocation check and the prefetch, in one cache round trip.

On Redis one Lua script checks the revocation key, counts against the principal's counter (or the
IP's when revoked or anonymous) and reads the keys the request needs next. Under ASGI it goes
through redis-py's asyncio client, so the event loop serves other requests during the round trip
instead of blocking on it. The counters are django-ratelimit's (same keys, same jittered fixed
windows), so `check_rate` and the middleware agree on every count. Other caches (the local-memory
cache of the embedded mode) run the same steps in process.
"""

from __future__ import annotations

import asyncio
import functools
import time
import weakref
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.http import HttpRequest
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate
from redis import asyncio as aioredis

from .core import Policy, Usage, _ip_key, _resolve_rate
from .principal import _remember, _resolved_principal

# KEYS: [1] revocation key ("" for none), [2] the principal's counter ("" for none), [3] the IP counter,
# [4...] keys to read. ARGV: the two counters' lifetimes. Counts like django-ratelimit: SET NX, else INCR.
COUNT_SCRIPT = """
local revoked = 0
if KEYS[1] ~= '' and redis.call('EXISTS', KEYS[1]) == 1 then revoked = 1 end
local key, ttl = KEYS[2], ARGV[1]
if revoked == 1 or key == '' then key, ttl = KEYS[3], ARGV[2] end
local count
if redis.call('SET', key, 1, 'EX', ttl, 'NX') then count = 1 else count = redis.call('INCR', key) end
local out = {revoked, count}
for i = 4, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) or false end
return out
"""
_serializer = RedisSerializer()
ASYNC_REDIS_CONNECTIONS = 32  # per process and event loop: the script takes well under a millisecond
_sync_scripts: dict[str, Any] = {}  # the registered script (its SHA), called with each request's client
# One asyncio client per event loop and cache (a connection pool belongs to its loop).
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = weakref.WeakKeyDictionary()


_parsed_rate = functools.lru_cache(maxsize=64)(_split_rate)  # "100/15m" -> (100, 900), once per rate


@dataclass(frozen=True)
class Counter:
    """One django-ratelimit counter: its cache key in the current window, and how to report it."""

    policy: str
    limit: int
    period: int
    window_end: int
    key: str

    @classmethod
    def of(cls, *, group: str, policy: str, rate: str, value: str) -> Counter:
        limit, period = _parsed_rate(_resolve_rate(rate))
        window_end = _get_window(value, period)
        key = _make_cache_key(group, window_end, (limit, period), value, ALL)  # takes the parsed rate too
        return cls(policy, limit, period, window_end, key)

    def usage(self, count: int) -> Usage:
        reset = max(1, self.window_end - int(time.time()))
        return Usage(limit=self.limit, window=self.period, count=count, reset=reset)


@dataclass(frozen=True)
class Plan:
    """What one request counts against: the principal's counter unless revoked (or absent), else the IP's."""

    principal: str | None
    revoked_key: str
    by_principal: Counter | None
    by_ip: Counter
    fetch_keys: tuple[str, ...]


def plan_for(request: HttpRequest, policy: Policy | None) -> Plan | None:
    """The plan of the default policy (`policy` None) or a view policy keyed by "ip"/"principal"; else None."""
    if policy is not None and policy.key not in ("ip", "principal"):
        return None  # a django-ratelimit key or a callable: `check_rate` counts it
    principal = _resolved_principal(request) if policy is None or policy.key == "principal" else None
    if policy is None:
        by_ip = Counter.of(group="api:anon", policy="anon", rate="RATE_LIMIT_ANON", value=_ip_key("", request))
        by_principal = None
        if principal:
            value = f"principal:{principal}"
            by_principal = Counter.of(group="api:user", policy="user", rate="RATE_LIMIT_USER", value=value)
    else:
        group = f"api:{policy.name}"
        by_ip = Counter.of(group=group, policy=policy.name, rate=policy.rate, value=_ip_key(group, request))
        by_principal = None
        if principal:
            value = f"principal:{principal}"
            by_principal = Counter.of(group=group, policy=policy.name, rate=policy.rate, value=value)
    return Plan(
        principal=principal,
        revoked_key=getattr(principal, "revoked_key", None) or "",
        by_principal=by_principal,
        by_ip=by_ip,
        fetch_keys=tuple(getattr(principal, "fetch_keys", ()) or ()) if policy is None else (),
    )


def _redis_call(cache: RedisCache, plan: Plan) -> tuple[list[str], list[int]]:
    keys = [
        cache.make_key(plan.revoked_key) if plan.revoked_key else "",
        cache.make_key(plan.by_principal.key) if plan.by_principal else "",
        cache.make_key(plan.by_ip.key),
        *(cache.make_key(key) for key in plan.fetch_keys),
    ]
    ttls = [(plan.by_principal or plan.by_ip).period + EXPIRATION_FUDGE, plan.by_ip.period + EXPIRATION_FUDGE]
    return keys, ttls


def _lua_cache() -> RedisCache | None:
    """The limiter's cache when the script can run there: Redis, and the default cache (the keys' home)."""
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if isinstance(cache, RedisCache) and settings.RATELIMIT_USE_CACHE == DEFAULT_CACHE_ALIAS:
        return cache
    return None


def _finish(request: HttpRequest, plan: Plan, revoked: bool, count: int, read: dict[str, Any]) -> tuple[Usage, str]:
    if plan.revoked_key:
        read[plan.revoked_key] = 1 if revoked else None
    _remember(request, read)
    counter = plan.by_ip if revoked or plan.by_principal is None else plan.by_principal
    request._rate_limit_principal = None if revoked else plan.principal  # type: ignore[attr-defined]
    return counter.usage(int(count)), counter.policy


def _decode(plan: Plan, raw: list[Any]) -> dict[str, Any]:
    values = zip(plan.fetch_keys, raw, strict=True)
    return {key: None if value is None else _serializer.loads(value) for key, value in values}


def count(request: HttpRequest, plan: Plan) -> tuple[Usage, str]:
    """Run `plan` (blocking): one Redis round trip, or the in-process steps on another cache."""
    cache = _lua_cache()
    if cache is not None:
        client = cache._cache.get_client(write=True)  # a light handle on the cache's connection pool
        script = _sync_scripts.get("count") or _sync_scripts.setdefault("count", client.register_script(COUNT_SCRIPT))
        keys, ttls = _redis_call(cache, plan)
        revoked_flag, counted, *raw = script(keys=keys, args=ttls, client=client)
        return _finish(request, plan, bool(revoked_flag), counted, _decode(plan, raw))
    return _count_in_process(request, plan)


def _count_in_process(request: HttpRequest, plan: Plan) -> tuple[Usage, str]:
    limiter = caches[settings.RATELIMIT_USE_CACHE]
    wanted = [key for key in (plan.revoked_key, *plan.fetch_keys) if key]
    found = caches[DEFAULT_CACHE_ALIAS].get_many(wanted) if wanted else {}
    revoked = bool(plan.revoked_key) and found.get(plan.revoked_key) is not None
    counter = plan.by_ip if revoked or plan.by_principal is None else plan.by_principal
    counted = 1
    if not limiter.add(counter.key, 1, counter.period + EXPIRATION_FUDGE):
        try:
            counted = limiter.incr(counter.key)
        except ValueError:  # expired between the two calls: this request starts the next window
            limiter.add(counter.key, 1, counter.period + EXPIRATION_FUDGE)
    return _finish(request, plan, revoked, counted, {key: found.get(key) for key in plan.fetch_keys})


def _async_client(cache: RedisCache) -> tuple[Any, Any]:
    loop = asyncio.get_running_loop()
    per_loop = _async_clients.setdefault(loop, {})
    alias = settings.RATELIMIT_USE_CACHE
    if alias not in per_loop:
        options = settings.CACHES[alias].get("OPTIONS", {})
        location = settings.CACHES[alias]["LOCATION"]
        # A bounded pool that makes a burst wait for a connection (up to the socket timeout) instead of
        # failing it: a failed count lets the request through uncounted.
        pool = aioredis.BlockingConnectionPool.from_url(
            location[0] if isinstance(location, list | tuple) else location,
            max_connections=ASYNC_REDIS_CONNECTIONS,
            timeout=options.get("socket_timeout") or 2,
            socket_connect_timeout=options.get("socket_connect_timeout"),
            socket_timeout=options.get("socket_timeout"),
        )
        client = aioredis.Redis(connection_pool=pool)
        per_loop[alias] = (client, client.register_script(COUNT_SCRIPT))
    return per_loop[alias]


async def acount(request: HttpRequest, plan: Plan) -> tuple[Usage, str]:
    """Run `plan` without blocking the event loop: Redis's asyncio client; the in-process steps otherwise."""
    cache = _lua_cache()
    if cache is None:
        return _count_in_process(request, plan)  # the local-memory cache: no I/O
    client, script = _async_client(cache)
    keys, ttls = _redis_call(cache, plan)
    revoked_flag, counted, *raw = await script(keys=keys, args=ttls, client=client)
    return _finish(request, plan, bool(revoked_flag), counted, _decode(plan, raw))
