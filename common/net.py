"""The client's network identity: one function, used by rate limits, sessions, logs and stream caps.

The servers we start (Makefile, Dockerfile, deploy/) run uvicorn with `--no-proxy-headers`, so the
peer address reaches us untouched (`REMOTE_ADDR`, `scope["client"]`) and X-Forwarded-For is read
only here, by `TRUSTED_PROXY_COUNT`.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest

__all__ = ["UNKNOWN_IP", "client_ip", "valid_ip"]

# The address of a peer that has none we can use: a unix socket, or a server that passed garbage.
UNKNOWN_IP = "0.0.0.0"  # noqa: S104 - a placeholder value, never bound


def valid_ip(value: Any) -> str | None:
    """`value` as a normalised IP address string, or None when it is not one (never raises)."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    return _normalised_ip(value)


@functools.lru_cache(maxsize=4096)  # every request parses its client's address: ~2 % of a small request
def _normalised_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _scope_header(scope: Mapping[str, Any], name: bytes) -> str:
    values = [value for key, value in scope.get("headers") or () if key.lower() == name]
    return b",".join(values).decode("latin-1")


def client_ip(request_or_scope: HttpRequest | Mapping[str, Any]) -> str:
    """The client's IP address, from a Django request or an ASGI scope (HTTP or WebSocket).

    The peer address (REMOTE_ADDR, or `scope["client"]`), unless `TRUSTED_PROXY_COUNT` (N) > 0 says
    N reverse proxies each append the address they saw to X-Forwarded-For: then the N-th entry from
    the right is the client (entries further left are whatever the client sent and are not trusted).
    Fewer entries than proxies (a request that did not pass through all of them) or an entry that is
    not an IP address fall back to the peer; a peer that is not an IP address either (a unix socket)
    is `UNKNOWN_IP`. The result is always a valid, normalised address: safe for an inet column.
    Also django-ratelimit's `RATELIMIT_IP_META_KEY`, so its `key="ip"` agrees with ours.
    """
    if isinstance(request_or_scope, HttpRequest):
        peer = request_or_scope.META.get("REMOTE_ADDR")
        forwarded = request_or_scope.META.get("HTTP_X_FORWARDED_FOR", "")
    else:
        client = request_or_scope.get("client") or (None, None)
        peer = client[0]
        forwarded = _scope_header(request_or_scope, b"x-forwarded-for")
    remote = valid_ip(peer) or UNKNOWN_IP
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
        if len(hops) >= proxies:
            return valid_ip(hops[-proxies]) or remote
    return remote
