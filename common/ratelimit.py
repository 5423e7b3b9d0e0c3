"""Request rate limits for every `/api/` path, and helpers for apps that add their own limits.

The counters are django-ratelimit's fixed windows in the Django cache: Redis in services mode (one
atomic INCR per request, shared by every process) and the local-memory cache in embedded mode (one
process, so one correct counter).

Default policy: an anonymous request counts against its client IP (`RATE_LIMIT_ANON`, "100/15m"),
an authenticated one against its principal (`RATE_LIMIT_USER`, "1000/15m"). The principal comes from
the function named by `RATE_LIMIT_PRINCIPAL_RESOLVER` (`(request) -> str | None`). A view that
third parties call in bursts declares its own policy with `@rate_limit_policy(...)`.

A resolver may return a `Principal` (a str) naming a cache key whose presence means the credential
was revoked (a logged-out session): such a request counts as anonymous, by IP. The default policy
checks that key, counts the request and reads the cache keys the request will need next
(`Principal.fetch_keys`, e.g. the user row) in ONE cache round trip (a Lua script on Redis); what it
read is handed on through `prefetched(request, key)`, so authentication does not ask again.

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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage
from redis.exceptions import RedisError

from .errors import RateLimited, problem_response
from .middleware import HookMiddleware, resolve_request

__all__ = [
    "Policy",
    "Principal",
    "RateLimitMiddleware",
    "Usage",
    "check_rate",
    "client_ip",
    "prefetched",
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


# --- Client identity ------------------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The client's IP address.

    REMOTE_ADDR, unless `TRUSTED_PROXY_COUNT` (N) > 0 says N reverse proxies each append the address
    they saw to X-Forwarded-For: then the N-th entry from the right is the client (entries further
    left are whatever the client sent and are not trusted). Fewer entries than proxies (a request
    that did not pass through all of them) or a malformed entry fall back to REMOTE_ADDR.
    Also the `RATELIMIT_IP_META_KEY` of django-ratelimit, so its `key="ip"` agrees with ours.
    """
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - a unix-socket peer has no address
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            candidate = hops[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote


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


# --- The default policy in one cache round trip -----------------------------------------------------

# KEYS: [1] revocation key ("" for none), [2] the principal's counter ("" for none), [3] the IP counter,
# [4...] keys to read. ARGV: the counters' lifetimes. Counts like django-ratelimit (SET NX, else INCR),
# on the same keys, so `check_rate` and the middleware agree.
_COUNT_SCRIPT = """
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
_scripts: dict[str, Any] = {}  # the registered script (its SHA), called with each request's client
_serializer = RedisSerializer()


@dataclass(frozen=True)
class _Counter:
    """One django-ratelimit counter: its cache key for the current window, and how to report it."""

    policy: str
    limit: int
    period: int
    window_end: int
    key: str

    @classmethod
    def of(cls, *, policy: str, rate_setting: str, value: str) -> _Counter:
        rate = _resolve_rate(rate_setting)
        limit, period = _split_rate(rate)
        window_end = _get_window(value, period)
        return cls(policy, limit, period, window_end, _make_cache_key(f"api:{policy}", window_end, rate, value, ALL))

    def usage(self, count: int) -> Usage:
        reset = max(1, self.window_end - int(time.time()))
        return Usage(limit=self.limit, window=self.period, count=count, reset=reset)


def _count_default(request: HttpRequest) -> tuple[Usage, str]:
    """Count `request` under the default policy; check revocation and read `fetch_keys` in the same trip."""
    principal = _resolved_principal(request)
    revoked_key = getattr(principal, "revoked_key", None) or ""
    fetch_keys: tuple[str, ...] = getattr(principal, "fetch_keys", ())
    by_ip = _Counter.of(policy="anon", rate_setting="RATE_LIMIT_ANON", value=_ip_key("api:anon", request))
    by_user = None
    if principal:
        by_user = _Counter.of(policy="user", rate_setting="RATE_LIMIT_USER", value=f"principal:{principal}")
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if isinstance(cache, RedisCache) and settings.RATELIMIT_USE_CACHE == DEFAULT_CACHE_ALIAS:
        client = cache._cache.get_client(write=True)  # a light handle on the cache's connection pool
        script = _scripts.get("count")
        if script is None:
            script = _scripts["count"] = client.register_script(_COUNT_SCRIPT)
        keys = [
            cache.make_key(revoked_key) if revoked_key else "",
            cache.make_key(by_user.key) if by_user else "",
            cache.make_key(by_ip.key),
            *(cache.make_key(key) for key in fetch_keys),
        ]
        ttls = [(by_user or by_ip).period + EXPIRATION_FUDGE, by_ip.period + EXPIRATION_FUDGE]
        revoked_flag, count, *raw = script(keys=keys, args=ttls, client=client)
        revoked = bool(revoked_flag)
        values = zip(fetch_keys, raw, strict=True)
        read = {key: None if value is None else _serializer.loads(value) for key, value in values}
    else:  # the local-memory cache of the embedded mode (or a limiter cache of its own): the same steps
        wanted = [key for key in (revoked_key, *fetch_keys) if key]
        found = caches[DEFAULT_CACHE_ALIAS].get_many(wanted) if wanted else {}
        revoked = bool(revoked_key) and found.get(revoked_key) is not None
        counter = by_ip if revoked or by_user is None else by_user
        count = 1
        if not cache.add(counter.key, 1, counter.period + EXPIRATION_FUDGE):
            try:
                count = cache.incr(counter.key)
            except ValueError:  # expired between the two calls: this request starts the next window
                cache.add(counter.key, 1, counter.period + EXPIRATION_FUDGE)
        read = {key: found.get(key) for key in fetch_keys}
    if revoked_key:
        read[revoked_key] = 1 if revoked else None
    _remember(request, read)
    counter = by_ip if revoked or by_user is None else by_user
    request._rate_limit_principal = None if revoked else principal  # type: ignore[attr-defined]
    return counter.usage(int(count)), counter.policy


class RateLimitMiddleware(HookMiddleware):
    """Counts every `/api/` request (known path or not) when RATE_LIMIT_ENABLED; 429 past the limit."""

    def before(self, request: HttpRequest) -> HttpResponseBase | None:
        if not settings.RATE_LIMIT_ENABLED or not request.path_info.startswith("/api/"):
            return None
        policy = _view_policy(request)
        try:
            if policy is None:
                usage, name = _count_default(request)
                policy = Policy(name=name, rate="", key="ip")
            else:
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
