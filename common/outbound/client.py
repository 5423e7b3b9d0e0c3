"""The pinned-address HTTP client (httpx) behind outbound_request."""

import concurrent.futures
import contextlib
import ipaddress
import re
import socket
import ssl
import threading
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
# A name with many addresses: connect to at most this many of them (all were checked) in turn.
MAX_ADDRESSES_TRIED = 3
# getaddrinfo cannot be given a timeout; lookups run here and are waited for with one.
_RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbound-dns")
_HEADER_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")


@dataclass
class OutboundResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # at most max_body bytes, as sent (Content-Encoding not undone)
    elapsed_ms: float
    truncated: bool  # the target sent more than max_body bytes


def _resolve(host: str, port: int, timeout: float) -> list[IPAddress]:
    """Every address `host` resolves to: one getaddrinfo call, given at most `timeout` seconds."""
    future = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise OutboundBlocked("url_unresolvable", f"Resolving {host!r} took longer than {timeout:g} s.") from None
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


def _pin(target: Target, *, resolve_timeout: float) -> list[IPAddress]:
    """Resolve once, check every address, return them (the connection goes to these, never the name)."""
    addresses = [target.ip] if target.ip is not None else _resolve(target.host, target.port, resolve_timeout)
    allowed_private = tuple(settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS)
    for address in addresses:
        if not address_allowed(target.host, address, allowed_private):
            reason = address_blocked_reason(address) or "metadata"
            shown = target.host if target.ip is not None else f"{target.host} ({address})"
            raise OutboundBlocked(
                "url_host_not_allowed", f"The host {shown} is not allowed ({reason.replace('_', ' ')} address)."
            )
    return addresses


def outbound_url_check(url: str) -> None:
    """Validate a user-supplied URL at input time (syntax, scheme, DNS, address policy).

    The request itself checks again (and pins what it checked): DNS may answer differently later.
    """
    _pin(parse_target(url), resolve_timeout=settings.OUTBOUND_CONNECT_TIMEOUT_SECONDS)


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

    Blocking (call it from a Celery task, or through sync_to_async). `timeout` (default
    OUTBOUND_READ_TIMEOUT_SECONDS) bounds each read and, with the connect timeout
    (OUTBOUND_CONNECT_TIMEOUT_SECONDS, or `timeout` if shorter), the whole exchange: a target that
    drips bytes is cut off at connect + read budget. `max_body` (default OUTBOUND_MAX_RESPONSE_BYTES)
    caps the response-body bytes read; the body is returned as sent (Content-Encoding not undone).
    Headers named in MANAGED_HEADERS are set by the client (Host is the URL's host).
    """
    if not _TOKEN.fullmatch(method or ""):
        raise OutboundBlocked("request_invalid", f"{method!r} is not a valid HTTP method.")
    target = parse_target(url)
    request_headers = _request_headers(headers, target)
    read_timeout = timeout if timeout is not None else settings.OUTBOUND_READ_TIMEOUT_SECONDS
    connect_timeout = min(settings.OUTBOUND_CONNECT_TIMEOUT_SECONDS, read_timeout)
    addresses = _pin(target, resolve_timeout=connect_timeout)
    cap = settings.OUTBOUND_MAX_RESPONSE_BYTES if max_body is None else max_body
    started = time.monotonic()
    deadline = started + connect_timeout + read_timeout
    # Every address was checked; try the next only when one cannot be connected to (nothing was sent).
    for attempt, address in enumerate(addresses[:MAX_ADDRESSES_TRIED], start=1):
        try:
            status, response_headers, body_bytes, truncated = _exchange(
                method=method,
                target=target,
                address=address,
                headers=request_headers,
                body=body,
                timeout=httpx.Timeout(
                    connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
                ),
                cap=cap,
                deadline=deadline,
            )
        except OutboundError as exc:
            if exc.code == "connection_failed" and exc.before_send and attempt < len(addresses[:MAX_ADDRESSES_TRIED]):
                continue
            raise
        return OutboundResponse(
            status=status,
            headers=response_headers,
            body=body_bytes,
            elapsed_ms=(time.monotonic() - started) * 1000,
            truncated=truncated,
        )
    raise AssertionError("unreachable: _pin returns at least one address")  # pragma: no cover


def _exchange(
    *,
    method: str,
    target: Target,
    address: IPAddress,
    headers: list[tuple[str, str]],
    body: bytes,
    timeout: httpx.Timeout,
    cap: int,
    deadline: float,
) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    """One request to `address` (a checked address), verified as `target.host` over TLS."""
    netloc = f"[{address}]" if address.version == 6 else str(address)
    watchdog = _Watchdog(deadline)
    extensions: dict[str, object] = {"trace": watchdog.trace}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host  # SNI and certificate check against the name, not the IP
    request = httpx.Request(
        method,
        f"{target.scheme}://{netloc}:{target.port}{target.target}",
        headers=headers,
        content=body,
        extensions=extensions,
    )
    client = httpx.Client(
        transport=httpx.HTTPTransport(verify=_ssl_context(), retries=0, http1=True, http2=False),
        follow_redirects=False,
        # Proxies from the environment would resolve the name again, unchecked (httpx already ignores
        # them when given a transport; this keeps it so if that changes).
        trust_env=False,
        timeout=timeout,
    )
    try:
        with client, watchdog:
            response = client.send(request, stream=True)
            try:
                body_bytes, truncated = _read_capped(response, cap)
            finally:
                response.close()
    except httpx.TransportError as exc:
        if watchdog.fired or isinstance(exc, httpx.TimeoutException):
            raise OutboundError("timeout", f"The target did not answer in time ({type(exc).__name__}).") from None
        if isinstance(exc, httpx.ConnectError):
            if _is_tls_error(exc):
                raise OutboundError("tls_error", f"TLS failed: {exc}.") from None
            raise OutboundError("connection_failed", f"Could not connect: {exc}.", before_send=True) from None
        if isinstance(exc, httpx.ProtocolError):
            raise OutboundError("protocol_error", f"The exchange broke HTTP: {exc}.") from None
        raise OutboundError("connection_failed", f"The connection failed: {exc}.") from None
    response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
    return response.status_code, response_headers, body_bytes, truncated


class _Watchdog:
    """Shuts the connection's socket down at `deadline`, so a target dripping bytes cannot hold us.

    Per-read timeouts alone let a target send one byte per read timeout forever; the socket comes
    from httpcore's trace events (TCP connect, then TLS start).
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def trace(self, event: str, info: dict[str, object]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None  # type: ignore[attr-defined]
            with self._lock:
                self._socket = sock
                if self.fired:
                    self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> "_Watchdog":
        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """Read at most `cap` body bytes (one network read past it shows truncation)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True
    return b"".join(chunks), False


def _is_tls_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in type(seen).__name__ or "CERTIFICATE" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
