"""The counting primitives: client identity, django-ratelimit windows, headers and per-view policies."""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import _split_rate, get_usage

from ..errors import RateLimited
from ..middleware import resolve_request
from ..net import client_ip
from .principal import request_principal

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
    return _ip_key_of(client_ip(request))


@functools.lru_cache(maxsize=4096)  # parsing an address was ~5 % of a small API request (issue 8)
def _ip_key_of(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"ip:{ip}"
    if address.version == 6:
        return "ip:" + str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return f"ip:{address}"


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
