"""Request rate limits for every `/api/` path, and helpers for apps that add their own limits.

The counters are django-ratelimit's fixed windows in the Django cache: Redis in services mode (one
atomic INCR per request, shared by every process) and the local-memory cache in embedded mode (one
process, so one correct counter).

Default policy: an anonymous request counts against its client IP (`RATE_LIMIT_ANON`, "100/15m"),
an authenticated one against its principal (`RATE_LIMIT_USER`, "1000/15m"). The principal comes from
the function named by `RATE_LIMIT_PRINCIPAL_RESOLVER` (`(request) -> str | None`). A view that
third parties call in bursts declares its own policy with `@rate_limit_policy(...)`.

Every limited response carries the IETF draft headers and their X- forms::

    RateLimit-Policy: "anon";q=100;w=900
    RateLimit: "anon";r=41;t=517
    X-RateLimit-Limit: 100
    X-RateLimit-Remaining: 41
    X-RateLimit-Reset: 517          (seconds until the window resets, not an epoch time)

and over the limit a 429 problem (`code: rate_limited`) with `Retry-After` in seconds.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string
from django_ratelimit.core import _split_rate, get_usage
from redis.exceptions import RedisError

from .errors import RateLimited, problem_response
from .middleware import HookMiddleware, resolve_request
from .net import client_ip

__all__ = [
    "Policy",
    "RateLimitMiddleware",
    "Usage",
    "check_rate",
    "fixed_window_hit",
    "fixed_window_hits",
    "client_ip",
    "rate_limit_headers",
    "rate_limit_policy",
    "rate_limited_error",
    "request_principal",
]

logger = logging.getLogger(__name__)

KeyKind = Literal["ip", "principal"]
KeySpec = KeyKind | str | Callable[[str, HttpRequest], str]
V = TypeVar("V")


@dataclass(frozen=True)
class Usage:
    """Where one key stands in its current window."""

    limit: int
    window: int  # seconds
    count: int  # requests counted in this window, including this one when incremented
    reset: int  # seconds until the window ends (>= 1)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def limited(self) -> bool:
        return self.count > self.limit


@dataclass(frozen=True)
class Policy:
    """A named limit: `rate` is a rate ("30/1m", "1000/15m") or the name of a setting holding one."""

    name: str
    rate: str
    key: KeySpec = "ip"


# --- Client identity (common.net.client_ip, re-exported here) ---------------------------------------


def _ip_key(group: str, request: HttpRequest) -> str:
    """Client IP, with IPv6 reduced to its /64 (one host usually owns the whole prefix)."""
    ip = client_ip(request)
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"ip:{ip}"
    if address.version == 6:
        return "ip:" + str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return f"ip:{address}"


@lru_cache(maxsize=8)
def _load_resolver(path: str) -> Callable[[HttpRequest], str | None] | None:
    try:
        return import_string(path)
    except ImportError:
        return None


def request_principal(request: HttpRequest) -> str | None:
    """The authenticated principal of `request` per `RATE_LIMIT_PRINCIPAL_RESOLVER`, or None.

    The resolver must be cheap and must not query the database (it runs before every API view, also
    under ASGI): check a JWT's signature, recognise an API key through the cache. A missing resolver
    or one that raises counts as anonymous. The result is memoised on the request.
    """
    if "_rate_limit_principal" in request.__dict__:
        cached: str | None = request.__dict__["_rate_limit_principal"]
        return cached
    principal: str | None = None
    path = getattr(settings, "RATE_LIMIT_PRINCIPAL_RESOLVER", "")
    resolver = _load_resolver(path) if path else None
    if resolver is not None:
        try:
            principal = resolver(request) or None
        except Exception:
            logger.warning("rate-limit principal resolver %s failed; counting the request by IP", path, exc_info=True)
    request._rate_limit_principal = principal  # type: ignore[attr-defined]
    return principal


def _principal_key(group: str, request: HttpRequest) -> str:
    principal = request_principal(request)
    return f"principal:{principal}" if principal else _ip_key(group, request)


_KEYS: dict[str, Callable[[str, HttpRequest], str]] = {"ip": _ip_key, "principal": _principal_key}


# --- Counting -------------------------------------------------------------------------------------


def _resolve_rate(rate: str) -> str:
    """A rate literal ("100/15m") or the name of a setting that holds one."""
    if "/" not in rate:
        value = getattr(settings, rate, None)
        if not isinstance(value, str) or "/" not in value:
            raise ValueError(f"rate {rate!r} is neither a rate like '100/15m' nor a setting holding one")
        return value
    return rate


def check_rate(request: HttpRequest, *, group: str, key: KeySpec, rate: str, increment: bool = True) -> Usage:
    """Count one request against `group` for `key` at `rate` and say where the key stands.

    - `group`: a name for the counter, e.g. "login-account"; different groups count separately.
    - `key`: "ip" (client IP, proxy-aware), "principal" (the authenticated principal, else the IP),
      any django-ratelimit key ("header:x-api-key", "post:email", a dotted path), or a callable
      `(group, request) -> str`.
    - `rate`: "5/1m", "100/15m", ... or the name of a setting holding such a rate.
    - `increment=False` only reads the counter.

    Returns a `Usage`; when `usage.limited`, refuse the request, e.g.
    `raise rate_limited_error(usage, "login")`, whose 429 carries the same headers as the middleware's.
    """
    resolved = _resolve_rate(rate)
    limit, window = _split_rate(resolved)
    key_fn = _KEYS.get(key) if isinstance(key, str) else None
    raw = get_usage(request, group=group, key=key_fn or key, rate=resolved, increment=increment)
    if raw is None:  # RATELIMIT_ENABLE is off
        return Usage(limit=limit, window=window, count=0, reset=window)
    if raw["time_left"] < 0:  # the cache refused the count; django-ratelimit fails closed
        return Usage(limit=limit, window=window, count=limit + 1, reset=window)
    return Usage(limit=limit, window=window, count=int(raw["count"]), reset=max(1, int(raw["time_left"])))


def rate_limit_headers(usage: Usage, policy_name: str) -> dict[str, str]:
    """The rate-limit headers for `usage` under `policy_name`; with `Retry-After` once it is limited.

    `RateLimit-Policy`/`RateLimit` follow the IETF httpapi draft; `X-RateLimit-Reset` is seconds
    until the window resets (not a timestamp), like `t=` and `Retry-After`.
    """
    headers = {
        "RateLimit-Policy": f'"{policy_name}";q={usage.limit};w={usage.window}',
        "RateLimit": f'"{policy_name}";r={usage.remaining};t={usage.reset}',
        "X-RateLimit-Limit": str(usage.limit),
        "X-RateLimit-Remaining": str(usage.remaining),
        "X-RateLimit-Reset": str(usage.reset),
    }
    if usage.limited:
        headers["Retry-After"] = str(usage.reset)
    return headers


def rate_limited_error(usage: Usage, policy_name: str, detail: str | None = None) -> RateLimited:
    """A `RateLimited` (429, `rate_limited`) carrying the headers for `usage`; raise it from a service or view."""
    return RateLimited(
        detail or f"Too many requests; retry in {usage.reset} seconds.",
        headers=rate_limit_headers(usage, policy_name),
    )


# --- Per-view policies ----------------------------------------------------------------------------


def rate_limit_policy(name: str, *, rate: str, key: KeySpec = "ip") -> Callable[[V], V]:
    """Give a view its own limit instead of the default one.

    Works on function views and on view classes (APIView, View)::

        @rate_limit_policy("stripe-intake", rate="WEBHOOK_INTAKE_RATE", key="ip")
        class StripeIntake(APIView): ...

    `rate` is a rate or a setting name (read on every request, so tests can override it).
    """
    policy = Policy(name=name, rate=rate, key=key)

    def decorate(view: V) -> V:
        view.rate_limit_policy = policy  # type: ignore[attr-defined]
        return view

    return decorate


def _view_policy(request: HttpRequest) -> Policy | None:
    match = resolve_request(request)
    if match is None:
        return None
    func: Any = match.func
    for holder in (func, getattr(func, "cls", None), getattr(func, "view_class", None)):
        policy = getattr(holder, "rate_limit_policy", None)
        if isinstance(policy, Policy):
            return policy
    return None


def _default_policy(request: HttpRequest) -> Policy:
    if request_principal(request):
        return Policy(name="user", rate="RATE_LIMIT_USER", key="principal")
    return Policy(name="anon", rate="RATE_LIMIT_ANON", key="ip")


class RateLimitMiddleware(HookMiddleware):
    """Counts every `/api/` request (known path or not) when RATE_LIMIT_ENABLED; 429 past the limit."""

    def before(self, request: HttpRequest) -> HttpResponseBase | None:
        if not settings.RATE_LIMIT_ENABLED or not request.path_info.startswith("/api/"):
            return None
        policy = _view_policy(request) or _default_policy(request)
        try:
            usage = check_rate(request, group=f"api:{policy.name}", key=policy.key, rate=policy.rate)
        except (RedisError, OSError):
            # Fail open: a cache outage must not take the API down; /health reports the cache.
            logger.warning("rate-limit cache unavailable; request not counted", exc_info=True)
            return None
        request._rate_limit = (usage, policy.name)  # type: ignore[attr-defined]
        if usage.limited:
            return problem_response(
                status=429,
                code="rate_limited",
                detail=f"Too many requests; retry in {usage.reset} seconds.",
                headers=rate_limit_headers(usage, policy.name),
            )
        return None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        state = getattr(request, "_rate_limit", None)
        if state is not None:
            usage, name = state
            for header, value in rate_limit_headers(usage, name).items():
                if header not in response:
                    response[header] = value
        return response


# --- Counters outside Django requests -------------------------------------------------------------


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
