"""The WebSocket handshake's Origin check: the rule Django's CSRF check applies to unsafe HTTP requests.

A browser handshake (it always sends `Origin`) is accepted when the origin's scheme, host and port
equal the request's own (the scheme as the request sees it: `wss` or, with SECURE_PROXY_SSL_HEADER /
BEHIND_HTTPS_PROXY, the proxy's header; the host from `Host`, which must be in ALLOWED_HOSTS), or
when it is listed in CSRF_TRUSTED_ORIGINS (`https://*.example.com` wildcards included) or
CORS_ALLOWED_ORIGINS. So a page of another local app (`http://localhost:5173` against a server on
8000) cannot open a socket with the visitor's session cookie. A handshake without `Origin` is not a
browser (it cannot carry a victim's cookie) and goes on to token authentication.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
# Hosts Django itself accepts with DEBUG on and ALLOWED_HOSTS empty.
DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]

Origin = tuple[str, str, int]  # scheme, host (lower-case), port


def _headers(scope: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return found


def parse_origin(value: str) -> Origin | None:
    """`scheme://host[:port]` as a tuple with the default port filled in; None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _request_scheme(scope: dict[str, Any], headers: dict[str, list[str]]) -> str:
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        meta_name, secure_value = proxy_header
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower()
        if name in headers:  # like HttpRequest.scheme: the proxy's word decides once it is present
            scheme = "https" if headers[name][0].split(",")[0].strip() == secure_value else "http"
    return scheme


def request_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin the handshake itself was made to; None without a valid, allowed `Host`."""
    headers = _headers(scope)
    hosts = headers.get("host", [])
    if len(hosts) != 1:
        return None
    domain, port = split_domain_port(hosts[0])
    allowed = settings.ALLOWED_HOSTS or (DEBUG_HOSTS if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed):
        return None
    scheme = _request_scheme(scope, headers)
    return scheme, domain.lower(), int(port) if port else DEFAULT_PORTS[scheme]


def _trusted(origin: Origin, entries: Iterable[str]) -> bool:
    scheme, host, port = origin
    for entry in entries:
        if "://*." in entry:  # CSRF_TRUSTED_ORIGINS wildcard: any subdomain, same scheme and port
            trusted = parse_origin(entry.replace("://*.", "://", 1))
            if trusted and trusted[0] == scheme and trusted[2] == port and host.endswith("." + trusted[1]):
                return True
        elif parse_origin(entry) == origin:
            return True
    return False


def websocket_origin_allowed(scope: dict[str, Any]) -> bool:
    values = _headers(scope).get("origin")
    if values is None:
        return True  # not a browser
    if len(values) != 1:
        return False
    origin = parse_origin(values[0])
    if origin is None:  # `null` (sandboxed pages, file:), garbage
        return False
    if origin == request_origin(scope):
        return True
    return _trusted(origin, [*settings.CSRF_TRUSTED_ORIGINS, *settings.CORS_ALLOWED_ORIGINS])


class BrowserOriginValidator:
    """ASGI middleware: refuses (403 on the handshake) a WebSocket whose Origin is not allowed."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not websocket_origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
