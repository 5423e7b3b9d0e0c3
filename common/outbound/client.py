"""The pinned-address HTTP client (httpx) behind outbound_request."""

import re
import socket
import ssl
import time
from dataclasses import dataclass
from functools import lru_cache

import httpx
from django.conf import settings

from .addresses import IPAddress, Target, address_allowed, address_blocked_reason, parse_target
from .errors import OutboundBlocked, OutboundError

# Headers the client sets itself from the pinned target and the body; a caller's copies are dropped.
MANAGED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")


@dataclass
class OutboundResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # at most max_body bytes, as sent (Content-Encoding not undone)
    elapsed_ms: float
    truncated: bool  # the target sent more than max_body bytes


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (one getaddrinfo call; the seam tests fake DNS at)."""
    import ipaddress

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise OutboundBlocked("url_unresolvable", f"The host {host!r} does not resolve: {exc}.") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundBlocked("url_unresolvable", f"The host {host!r} has no IP address.")
    return addresses


def _pin(target: Target) -> IPAddress:
    """Resolve once, check every address, return the one to connect to."""
    addresses = [target.ip] if target.ip is not None else _resolve(target.host, target.port)
    allowed_private = tuple(settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS)
    for address in addresses:
        if not address_allowed(target.host, address, allowed_private):
            reason = address_blocked_reason(address) or "metadata"
            shown = target.host if target.ip is not None else f"{target.host} ({address})"
            raise OutboundBlocked(
                "url_host_not_allowed", f"The host {shown} is not allowed ({reason.replace('_', ' ')} address)."
            )
    return addresses[0]


def outbound_url_check(url: str) -> None:
    """Validate a user-supplied URL at input time (syntax, scheme, DNS, address policy).

    The request itself checks again (and pins what it checked): DNS may answer differently later.
    """
    _pin(parse_target(url))


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _request_headers(headers: list[tuple[str, str]] | None, target: Target) -> list[tuple[str, str]]:
    result = [("Host", target.host_header)]
    for name, value in headers or []:
        if not _TOKEN.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
            raise OutboundBlocked("request_invalid", f"The header {name!r} has an invalid name or value.")
        if name.lower() not in MANAGED_HEADERS:
            result.append((name, value))
    return result


def outbound_request(
    *,
    method: str,
    url: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    timeout: float | None = None,
    max_body: int | None = None,
) -> OutboundResponse:
    """Send one request to a user-supplied URL through the SSRF guard; redirects are returned, not followed.

    `timeout` (default OUTBOUND_READ_TIMEOUT_SECONDS) is the budget for the response: each read waits
    at most that long and the body is not read past it; connecting has OUTBOUND_CONNECT_TIMEOUT_SECONDS.
    `max_body` (default OUTBOUND_MAX_RESPONSE_BYTES) caps the bytes read from the response body.
    """
    if not _TOKEN.fullmatch(method or ""):
        raise OutboundBlocked("request_invalid", f"{method!r} is not a valid HTTP method.")
    target = parse_target(url)
    address = _pin(target)
    read_timeout = timeout if timeout is not None else settings.OUTBOUND_READ_TIMEOUT_SECONDS
    connect_timeout = min(settings.OUTBOUND_CONNECT_TIMEOUT_SECONDS, read_timeout)
    cap = settings.OUTBOUND_MAX_RESPONSE_BYTES if max_body is None else max_body
    netloc = f"[{address}]" if address.version == 6 else str(address)
    pinned_url = f"{target.scheme}://{netloc}:{target.port}{target.target}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = httpx.Request(
        method, pinned_url, headers=_request_headers(headers, target), content=body, extensions=extensions
    )
    transport = httpx.HTTPTransport(verify=_ssl_context(), retries=0, http1=True, http2=False)
    client = httpx.Client(
        transport=transport,
        follow_redirects=False,
        trust_env=False,  # a proxy from the environment would resolve the name again, unchecked
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout),
    )
    started = time.monotonic()
    deadline = started + connect_timeout + read_timeout
    try:
        with client:
            response = client.send(request, stream=True)
            try:
                body_bytes, truncated = _read_capped(response, cap, deadline)
            finally:
                response.close()
    except httpx.TimeoutException as exc:
        raise OutboundError("timeout", f"The target did not answer in time ({type(exc).__name__}).") from None
    except httpx.ConnectError as exc:
        if _is_tls_error(exc):
            raise OutboundError("tls_error", f"TLS failed: {exc}.") from None
        raise OutboundError("connection_failed", f"Could not connect: {exc}.") from None
    except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError) as exc:
        raise OutboundError("protocol_error", f"The exchange broke HTTP: {exc}.") from None
    except httpx.TransportError as exc:
        raise OutboundError("connection_failed", f"The connection failed: {exc}.") from None
    elapsed_ms = (time.monotonic() - started) * 1000
    return OutboundResponse(
        status=response.status_code,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
        body=body_bytes,
        elapsed_ms=elapsed_ms,
        truncated=truncated,
    )


def _read_capped(response: httpx.Response, cap: int, deadline: float) -> tuple[bytes, bool]:
    """Read at most `cap` body bytes (one network read past it shows truncation) before `deadline`."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("The response body took longer than the timeout.")
    return b"".join(chunks), False


def _is_tls_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in type(seen).__name__ or "CERTIFICATE" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
