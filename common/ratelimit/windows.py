"""Fixed-window counters for code that runs before (or without) a Django request.

The webhook capture path counts a whole batch of captures per bin at once with `fixed_window_hits`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django_ratelimit.core import _split_rate

from .core import Usage, _resolve_rate


def fixed_window_hit(key: str, rate: str) -> Usage:
    """Count one hit on `key` at `rate` (a rate or a setting name) in a fixed window of the cache."""
    return fixed_window_hits({key: 1}, rate)[key]


def fixed_window_hits(hits: Mapping[str, int], rate: str) -> dict[str, Usage]:
    """Count `hits[key]` hits on each key at `rate` in a fixed window of the cache; the usage after them.

    For code that runs before (or without) a Django request, e.g. the webhook capture path's
    per-bin limit, which counts a whole batch of captures at once. On Redis it is one round trip
    (INCRBY and EXPIRE NX per key, pipelined, on a client kept for the process); elsewhere the
    cache's add/incr. Raises the cache's errors (RedisError, OSError): the caller decides to fail
    open or closed.
    """
    from django.core.cache import DEFAULT_CACHE_ALIAS, caches
    from django.core.cache.backends.redis import RedisCache

    limit, window = _split_rate(_resolve_rate(rate))
    now = time.time()
    reset = max(1, int(window - (now % window)))
    suffix = f":{int(now // window)}"
    counts: dict[str, int] = {}
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        names = {key: backend.make_key(f"rl:fw:{key}{suffix}") for key in hits}
        pipe = _redis_writer(backend).pipeline(transaction=False)
        for key, name in names.items():
            pipe.incrby(name, hits[key])
            pipe.expire(name, window + 1, nx=True)
        replies = pipe.execute()
        counts = {key: int(replies[2 * index]) for index, key in enumerate(names)}
    else:
        for key, amount in hits.items():
            name = f"rl:fw:{key}{suffix}"
            backend.add(name, 0, timeout=window + 1)
            try:
                counts[key] = int(backend.incr(name, amount))
            except ValueError:  # expired between add and incr
                backend.set(name, amount, timeout=window + 1)
                counts[key] = amount
    return {key: Usage(limit=limit, window=window, count=count, reset=reset) for key, count in counts.items()}


_WRITERS: dict[tuple[str, ...], Any] = {}


def _redis_writer(backend: Any) -> Any:
    """The redis-py client Django's RedisCache writes with (always its first server), made once per server
    list and shared by threads (redis-py clients are thread-safe): building it per call costs more than
    the round trip."""
    servers = tuple(backend._servers)
    client = _WRITERS.get(servers)
    if client is None:
        client = _WRITERS[servers] = backend._cache.get_client(write=True)
    return client
