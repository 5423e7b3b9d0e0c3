"""The ASGI app in front of Django: routes `/hooks/...`, reads and bounds the body, answers once stored."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from typing import Any
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from common.errors.problems import PROBLEM_CONTENT_TYPE, problem_body
from common.net import client_ip
from common.ratelimit import rate_limit_headers
from common.serialization import format_datetime

from .. import services
from .batching import _batcher

logger = logging.getLogger(__name__)

PREFIX = "/hooks/"
_HOOK = re.compile(r"^/hooks/([0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12})(/.*)?$")
# Printable ASCII is kept as sent; anything else in the request target is percent-encoded.
_SAFE = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) != "%") + "%"
# Captured content must never become active content on our origin.
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"sandbox; default-src 'none'"),
]


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


def _text(raw: bytes) -> str:
    return quote(raw.decode("latin-1"), safe=_SAFE, encoding="latin-1")


async def _send(
    send: Any, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    extra = headers or []
    if not any(name == b"cache-control" for name, _value in extra):
        extra = [*extra, (b"cache-control", b"no-store")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *_SECURITY_HEADERS,
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _problem(send: Any, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(problem_body(status=status, code=code, detail=detail)).encode()
    extra = [(name.lower().encode(), value.encode("latin-1")) for name, value in (headers or {}).items()]
    await _send(send, status, body, PROBLEM_CONTENT_TYPE.encode(), extra)


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _load_config(bin_id: uuid.UUID) -> services.BinConfig | None:
    try:
        return services.bin_config_load(bin_id=bin_id)
    finally:
        if connection.vendor == "postgresql":
            connection.close()


def _headers_as_sent(scope: dict[str, Any]) -> list[list[str]]:
    """[[name, value], ...] in order; names in their original case when the server kept them
    (config.http_protocol), else as the ASGI scope has them (lowercase)."""
    pairs = list(scope.get("headers", ()))
    raw = (scope.get("extensions") or {}).get("raw_header_names")
    if raw is not None and len(raw) == len(pairs) and all(n.lower() == p[0] for n, p in zip(raw, pairs, strict=True)):
        return [
            [name.decode("latin-1"), value.decode("latin-1")] for name, (_lower, value) in zip(raw, pairs, strict=True)
        ]
    return [[name.decode("latin-1"), value.decode("latin-1")] for name, value in pairs]


def _receipt(event: Any) -> bytes:
    return json.dumps(
        {
            "id": str(event.pk),
            "bin_id": str(event.bin_id),
            "received_at": format_datetime(event.received_at),
            "content_length": event.content_length,
        }
    ).encode()


async def capture_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI app for one HTTP request under /hooks/."""
    received_at = timezone.now()
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = _text(raw_path)
    match = _HOOK.match(path) or _HOOK.match(scope["path"])
    if match is None:
        await _problem(send, 404, "bin_not_found", "No bin at this address; capture URLs are /hooks/{bin_id}.")
        return
    bin_id = uuid.UUID(match.group(1))
    config = services.bin_config_peek(bin_id=bin_id)
    try:
        if config is services.events.MISSING:
            config = await sync_to_async(_load_config, thread_sensitive=False)(bin_id)
    except DatabaseError:
        logger.exception("bins: could not read bin %s", bin_id)
        await _problem(send, 503, "service_unavailable", "The bin could not be read; retry later.")
        return
    if config is None:
        await _problem(send, 404, "bin_not_found", "No bin with this id exists.")
        return
    if config.expires_at <= received_at:
        await _problem(send, 410, "bin_expired", "This bin has expired and no longer captures requests.")
        return
    limit = int(settings.BINS_CAPTURE_MAX_BYTES)
    headers = _headers_as_sent(scope)
    too_large = f"The request body is larger than this bin accepts ({limit} bytes)."
    declared = services.events.header_value(headers, "content-length")
    if declared.isdigit() and int(declared) > limit:
        await _problem(send, 413, "payload_too_large", too_large)
        return
    try:
        body = await _read_body(receive, limit)
    except BodyTooLarge:
        await _problem(send, 413, "payload_too_large", too_large)
        return
    except ClientGone:
        return
    if any("\x00" in name or "\x00" in value for name, value in headers):
        await _problem(send, 400, "bad_request", "Header names and values may not contain NUL.")
        return
    sub_path = match.group(2) or ""
    fields = {
        "method": scope.get("method", "GET"),
        "path": path,
        "sub_path": sub_path,
        "query_string": _text(scope.get("query_string", b"")),
        "headers": headers,
        "body": body,
        "remote_ip": client_ip(scope),
        "is_tls": scope.get("scheme") in ("https", "wss"),
        "received_at": received_at,
    }
    try:
        outcome, value, after = await _batcher().store(config, fields)
    except DatabaseError:
        logger.exception("bins: could not store a capture for %s", bin_id)
        await _problem(send, 503, "service_unavailable", "The request could not be stored; retry later.")
        return
    if outcome == "limited":
        await _problem(
            send,
            429,
            "rate_limited",
            f"This bin receives too many requests; retry in {value.reset} seconds.",
            rate_limit_headers(value, "bin"),
        )
        return
    if outcome == "gone":
        await _problem(send, 404, "bin_not_found", "No bin with this id exists.")
        return
    if outcome == "unstorable":
        await _problem(send, 400, "unstorable_request", "The database cannot store this request as sent.")
        return
    event = value
    event_header = (b"x-bin-event-id", str(event.pk).encode())
    if config.response_status is None:
        await _send(send, 200, _receipt(event), b"application/json", [event_header])
    else:
        if config.response_delay_ms:
            await asyncio.sleep(config.response_delay_ms / 1000)
        extra = [(name.lower().encode(), value.encode("latin-1")) for name, value in config.response_headers]
        content_type = (config.response_content_type or "text/plain; charset=utf-8").encode("latin-1")
        await _send(send, config.response_status, config.response_body, content_type, [*extra, event_header])
    # The batch's live push, cap trim and notification run after the answers; waiting for them here
    # keeps that work owned by a request (nothing is left running when a test's loop or a worker stops).
    await asyncio.shield(after)


def http_app_with_capture(django_app: Any) -> Any:
    """The platform's HTTP app with `/hooks/...` answered by `capture_app` before Django."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await capture_app(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    app.app = django_app  # type: ignore[attr-defined]  # the wrapped app, as the other layers name it
    return app
