"""Django's Redis cache backend, with one redis-py client per connection pool instead of one per call.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` around the (shared) pool on every
cache call; the constructor registers ~170 response callbacks each time, which measured ~0.2 ms per
API request (the rate limiter's round trip plus the user-cache reads; docs/benchmarks.md, issue 8).
A `redis.Redis` is safe to share between threads (each command takes a connection from the pool), so
one per pool is kept. Same keys, same pools, same behaviour otherwise.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # Django's private attributes, which the stubs do not declare
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            # Not `_get_connection_pool(write)`: with replicas it draws its own random index.
            pools = django_client._pools
            if index not in pools:
                pools[index] = django_client._pool_class.from_url(
                    django_client._servers[index], **django_client._pool_options
                )
            client = self._clients.setdefault(index, django_client._client(connection_pool=pools[index]))
        return client


class PlatformRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
