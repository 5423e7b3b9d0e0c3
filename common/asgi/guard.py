"""`RequestGuard`: the pure-ASGI layer in front of Django's HTTP application.

What it does, in order, for each HTTP request (WebSocket and lifespan scopes pass straight through):

1. Records the client IP (`common.net.client_ip`) for log lines (`common.logging.client_ip_var`).
2. `GET`/`HEAD /health/live` without an `Origin` header: answers `{"status": "ok"}` itself, so the
   liveness probe costs no Django request. Other methods, and browsers (CORS), go on to the view.
3. A declared `Content-Length` over the route's limit (`body_limit_for`): 413 problem+json at once,
   before a byte of the body is read (a client that sent `Expect: 100-continue` is never told to send
   it). The response says `Connection: close`, so the server closes the connection instead of reading
   and discarding the rest.
4. A body without a length (`Transfer-Encoding: chunked`, or HTTP/2 without `content-length`): read
   here, counting, into a spooled buffer; the moment the count passes the limit, the same 413 and
   nothing more is read. Within the limit, Django gets the body with a `content-length` header:
   Django's ASGI request takes CONTENT_LENGTH only from that header, and DRF reads no body from a
   request without one (a chunked JSON body used to parse as empty). Except on the routes whose body
   is streamed (`body_streamed_for`): there it passes through unread, and the streamed body refuses
   more than the same limit while the view reads it (streaming.py).

A body within a declared Content-Length is passed through unread: the ASGI server delivers no more
than the declared length (HTTP/1.1 framing).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from tempfile import SpooledTemporaryFile
from typing import Any

from django.conf import settings

from common.errors.problems import PROBLEM_CONTENT_TYPE, problem_body
from common.logging import client_ip_var
from common.middleware import request_id_for
from common.net import client_ip

from .limits import body_headers, body_limit_for, body_streamed_for, too_large_detail

__all__ = ["LIVE_PATH", "RequestGuard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]  # Django's handler types its arguments its own way

LIVE_PATH = "/health/live"
LIVE_BODY = json.dumps({"status": "ok"}).encode()
_REPLAY_CHUNK = 64 * 1024


def _request_id(scope: Scope) -> bytes:
    incoming = next((value for key, value in scope.get("headers") or () if key == b"x-request-id"), b"")
    return request_id_for(incoming.decode("latin-1")).encode("latin-1")


async def _respond(
    scope: Scope, send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], *, close: bool = False
) -> None:
    headers = [
        *headers,
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-request-id", _request_id(scope)),
    ]
    if close:  # the server then closes the connection instead of reading the unread body to reuse it
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})


async def send_problem(
    scope: Scope,
    send: Send,
    *,
    status: int,
    code: str,
    detail: str,
    close: bool = False,
    retry_after: int | None = None,
) -> None:
    """Answer with the platform's problem+json body (the same one `common.errors.problem_response` makes)."""
    body = json.dumps(problem_body(status=status, code=code, detail=detail)).encode()
    headers = [(b"content-type", PROBLEM_CONTENT_TYPE.encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await _respond(scope, send, status, body, headers, close=close)


async def _too_large(scope: Scope, send: Send, limit: int, length: int | None) -> None:
    detail = too_large_detail(limit, length)
    await send_problem(scope, send, status=413, code="payload_too_large", detail=detail, close=True)


class _Replay:
    """An ASGI `receive` that hands out a buffered body, then defers to the server's own `receive`."""

    def __init__(self, buffer: Any, size: int, receive: Receive) -> None:
        self.buffer = buffer
        self.left = size
        self.receive = receive
        self.done = False

    async def __call__(self) -> Message:
        if self.done:
            return await self.receive()
        chunk = self.buffer.read(min(self.left, _REPLAY_CHUNK))
        self.left -= len(chunk)
        more = self.left > 0
        if not more:
            self.done = True
            self.buffer.close()
        return {"type": "http.request", "body": chunk, "more_body": more}


class RequestGuard:
    """See the module docstring. `RequestGuard(django_asgi_app)` in config/asgi.py."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_ip_var.set(client_ip(scope))
        length_header, unframed, origin = body_headers(scope)
        if scope["path"] == LIVE_PATH and scope["method"] in ("GET", "HEAD") and not origin:
            await self._live(scope, send)
            return
        limit = body_limit_for(scope["path"])
        if length_header is not None:
            try:
                length = int(length_header)
            except ValueError:
                await send_problem(
                    scope, send, status=400, code="bad_request", detail="Content-Length is not a number.", close=True
                )
                return
            if length > limit:
                await _too_large(scope, send, limit, length)
                return
            await self.app(scope, receive, send)
            return
        if not unframed or body_streamed_for(scope["path"]):
            # A streamed route's body is counted against the same limit while the view reads it.
            await self.app(scope, receive, send)
            return
        await self._read_unframed(scope, receive, send, limit)

    async def _live(self, scope: Scope, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
        await _respond(scope, send, 200, LIVE_BODY, headers)

    async def _read_unframed(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        buffer: Any = SpooledTemporaryFile(max_size=int(settings.FILE_UPLOAD_MAX_MEMORY_SIZE))  # noqa: SIM115
        total = 0
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    buffer.close()
                    return
                chunk = message.get("body", b"")
                total += len(chunk)
                if total > limit:
                    buffer.close()
                    await _too_large(scope, send, limit, None)
                    return
                buffer.write(chunk)
                if not message.get("more_body", False):
                    break
        except BaseException:
            buffer.close()
            raise
        buffer.seek(0)
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"transfer-encoding", b"content-length")]
        headers.append((b"content-length", str(total).encode()))
        await self.app({**scope, "headers": headers}, _Replay(buffer, total, receive), send)
