"""Who a request counts as: the resolver's principal, unless its credential was revoked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.http import HttpRequest
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class Principal(str):
    """A principal id (`"user:<id>"`) that a resolver returns with what the limiter checks alongside it.

    Both kinds of key are keys of the default cache.

    - `revoked_key`: a cache key whose presence means the credential was revoked (a logged-out
      session): the request then counts as anonymous, by IP, and `request_principal` gives None.
    - `fetch_keys`: cache keys the request reads next (the user row); fetched in the same round trip
      as the count and served from `prefetched(request, key)`.
    """

    revoked_key: str | None
    fetch_keys: tuple[str, ...]

    def __new__(cls, value: str, *, revoked_key: str | None = None, fetch_keys: tuple[str, ...] = ()) -> Principal:
        principal = super().__new__(cls, value)
        principal.revoked_key = revoked_key
        principal.fetch_keys = tuple(fetch_keys)
        return principal


@lru_cache(maxsize=8)
def _load_resolver(path: str) -> Callable[[HttpRequest], str | None] | None:
    try:
        return import_string(path)
    except ImportError:
        return None


def _resolved_principal(request: HttpRequest) -> str | None:
    """What the resolver says (before any revocation check), memoised on the request."""
    if "_rate_limit_resolved" in request.__dict__:
        cached: str | None = request.__dict__["_rate_limit_resolved"]
        return cached
    principal: str | None = None
    path = getattr(settings, "RATE_LIMIT_PRINCIPAL_RESOLVER", "")
    resolver = _load_resolver(path) if path else None
    if resolver is not None:
        try:
            principal = resolver(request) or None
        except Exception:
            logger.warning("rate-limit principal resolver %s failed; counting the request by IP", path, exc_info=True)
    request._rate_limit_resolved = principal  # type: ignore[attr-defined]
    return principal


_NOT_FETCHED = object()


def _remember(request: HttpRequest, values: dict[str, Any]) -> None:
    store: dict[str, Any] = request.__dict__.setdefault("_cache_prefetched", {})
    store.update(values)


def prefetched(request: HttpRequest, key: str) -> tuple[bool, Any]:
    """`(True, value or None)` when `key` was read from the cache earlier in this request, else `(False, None)`."""
    value = request.__dict__.get("_cache_prefetched", {}).get(key, _NOT_FETCHED)
    if value is _NOT_FETCHED:
        return False, None
    return True, value


def _is_revoked(request: HttpRequest, principal: str) -> bool:
    key = getattr(principal, "revoked_key", None)
    if not key:
        return False
    fetched, value = prefetched(request, key)
    if not fetched:
        value = caches[DEFAULT_CACHE_ALIAS].get(key)
        _remember(request, {key: value})
    return value is not None


def request_principal(request: HttpRequest) -> str | None:
    """The authenticated principal of `request` per `RATE_LIMIT_PRINCIPAL_RESOLVER`, or None.

    The resolver must be cheap and must not query the database (it runs before every API view, also
    under ASGI): check a JWT's signature, recognise an API key through the cache. A missing resolver
    or one that raises counts as anonymous, and so does a revoked `Principal` (one cache read, unless
    the limiter already made it). The result is memoised on the request.
    """
    if "_rate_limit_principal" in request.__dict__:
        cached: str | None = request.__dict__["_rate_limit_principal"]
        return cached
    principal = _resolved_principal(request)
    if principal is not None and _is_revoked(request, principal):
        principal = None
    request._rate_limit_principal = principal  # type: ignore[attr-defined]
    return principal
