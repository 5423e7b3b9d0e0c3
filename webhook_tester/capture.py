"""The capture endpoint `/hooks/{bin_id}[/sub/path]` as a pure ASGI app, in front of Django.

The hottest path of the platform, so it skips Django's middleware, URL resolver and DRF:

1. The bin's settings come from a per-process cache (BINS_CACHE_SECONDS), else one SELECT.
   Unknown bin: 404; expired: 410.
2. The body is read here, chunk by chunk, and refused with 413 as soon as it passes
   BINS_CAPTURE_MAX_BYTES, whether or not Content-Length announced it; nothing is stored.
3. The capture joins the next batch (`CaptureBatcher`, group commit): one worker-thread hop per
   batch does the per-bin rate counts (one Redis round trip) and one multi-row INSERT. Only after
   that commit is the request answered: stored before answered.
4. The answer: the bin's custom response (after its delay, awaited on the event loop) or a JSON
   receipt with the event id.
5. After the answers, once per batch: the live push to each bin's group that someone watches (one
   message per bin: channels_redis publishes one message at a time per connection, so a push per
   capture nobody watches would cap the whole path), every BINS_CAP_TRIM_EVERY captures of a bin in
   this process the trim to its cap, and for bins that opted in the throttled notification.

Errors are problem+json like everywhere else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
import weakref
from typing import Any
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from common.channels import group_send_bounded
from common.errors.problems import PROBLEM_CONTENT_TYPE, problem_body
from common.net import client_ip
from common.ratelimit import rate_limit_headers
from common.serialization import format_datetime

from . import services
from .live import bin_group, events_message

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

_since_trim: dict[uuid.UUID, int] = {}


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


Outcome = tuple[str, Any]  # ("stored", event) | ("limited", usage) | ("gone", None) | ("unstorable", None)
Answer = tuple[str, Any, "asyncio.Future[None]"]  # an outcome and its batch's after-work


def _store_batch(batch: list[tuple[services.BinConfig, dict[str, Any]]]) -> tuple[list[Outcome], set[uuid.UUID]]:
    """In a worker thread: count the batch against each bin's rate (one cache round trip), store the
    captures within their limits with one INSERT, and say which of the bins someone watches live."""
    try:
        per_bin: dict[uuid.UUID, int] = {}
        for config, _fields in batch:
            per_bin[config.id] = per_bin.get(config.id, 0) + 1
        usages = services.bin_capture_rate_hits(counts=per_bin)
        # The i-th capture of a bin in this batch is hit number (count - n + 1 + i) of the window.
        seen: dict[uuid.UUID, int] = {}
        outcomes: list[Outcome | None] = []
        to_store = []
        for config, fields in batch:
            index = seen.get(config.id, 0)
            seen[config.id] = index + 1
            usage = usages.get(config.id) if usages else None
            if usage is not None and usage.count - per_bin[config.id] + 1 + index > usage.limit:
                hit = type(usage)(limit=usage.limit, window=usage.window, count=usage.limit + 1, reset=usage.reset)
                outcomes.append(("limited", hit))
            else:
                outcomes.append(None)
                to_store.append(services.captured_event_build(bin_id=config.id, **fields))
        stored = iter(services.bin_events_capture_many(events=to_store))
        results: list[Outcome] = []
        for outcome in outcomes:
            if outcome is None:
                event = next(stored)
                if event is None:
                    outcome = ("gone", None)
                elif event == services.UNSTORABLE:
                    outcome = ("unstorable", None)
                else:
                    outcome = ("stored", event)
            results.append(outcome)
        return results, services.bins_watched(bin_ids=list(per_bin))
    finally:
        if connection.vendor == "postgresql":
            connection.close()  # back to the pool; SQLite keeps its per-thread connection


class CaptureBatcher:
    """Group commit for captures: requests that arrive while a batch is being written form the next one.

    A lone request is written at once (no timer, no added latency); under load each INSERT and its
    commit carry up to BINS_CAPTURE_BATCH_MAX captures, so the per-capture database and cache work
    shrinks as concurrency grows. Every request still waits for the commit of its own row before it
    is answered. One batcher per event loop, at most BINS_CAPTURE_WRITERS batches in flight.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[services.BinConfig, dict[str, Any], asyncio.Future[Answer]]] = []
        self._writers = 0

    async def store(self, config: services.BinConfig, fields: dict[str, Any]) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((config, fields, future))
        if self._writers < int(settings.BINS_CAPTURE_WRITERS):
            self._writers += 1
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            limit = int(settings.BINS_CAPTURE_BATCH_MAX)
            while self._pending:
                batch, self._pending = self._pending[:limit], self._pending[limit:]
                try:
                    outcomes, watched = await sync_to_async(_store_batch, thread_sensitive=False)(
                        [(config, fields) for config, fields, _future in batch]
                    )
                except BaseException as exc:  # the database is down: every request of the batch is told
                    for _config, _fields, future in batch:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else DatabaseError(str(exc)))
                    if not isinstance(exc, Exception):
                        raise
                    continue
                stored = [
                    (config, value)
                    for (config, _f, _fu), (kind, value) in zip(batch, outcomes, strict=True)
                    if kind == "stored"
                ]
                after = asyncio.ensure_future(_after_batch(stored, watched))
                for (_config, _fields, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():  # the client may have gone (its task was cancelled)
                        future.set_result((*outcome, after))
        finally:
            self._writers -= 1


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CaptureBatcher] = weakref.WeakKeyDictionary()


def _batcher() -> CaptureBatcher:
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = CaptureBatcher()
    return batcher


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


async def _after_batch(stored: list[tuple[services.BinConfig, Any]], watched: set[uuid.UUID]) -> None:
    """Work that must not delay the answers of a batch: the live push (one message per watched bin),
    the amortised cap trim, the throttled owner notification. Failures are logged, never raised."""
    from channels.layers import get_channel_layer

    try:
        by_bin: dict[uuid.UUID, tuple[services.BinConfig, list[Any]]] = {}
        for config, event in stored:
            by_bin.setdefault(config.id, (config, []))[1].append(event)
        layer = get_channel_layer()
        if layer is not None and watched:
            outgoing = [
                (bin_group(bin_id), events_message(events))
                for bin_id, (_c, events) in by_bin.items()
                if bin_id in watched
            ]
            await group_send_bounded(layer, outgoing)
        trims: list[tuple[uuid.UUID, int]] = []
        notify: list[tuple[services.BinConfig, uuid.UUID]] = []
        for bin_id, (config, events) in by_bin.items():
            count = _since_trim.get(bin_id, 0) + len(events)
            trim = count >= int(settings.BINS_CAP_TRIM_EVERY)
            _since_trim[bin_id] = 0 if trim else count
            if trim:
                trims.append((bin_id, config.event_cap))
            if config.notify:
                notify.append((config, events[-1].pk))
        if len(_since_trim) > 10_000:
            _since_trim.clear()
        if trims or notify:
            await sync_to_async(_after_batch_sync, thread_sensitive=False)(trims, notify)
    except Exception:
        logger.exception("bins: after-capture work failed")


def _after_batch_sync(trims: list[tuple[uuid.UUID, int]], notify: list[tuple[services.BinConfig, uuid.UUID]]) -> None:
    try:
        for bin_id, cap in trims:
            services.bin_events_trim(bin_id=bin_id, cap=cap)
        for config, event_id in notify:
            services.bin_notify_maybe(config=config, event_id=event_id)
    finally:
        if connection.vendor == "postgresql":
            connection.close()


def http_app_with_capture(django_app: Any) -> Any:
    """The platform's HTTP app with `/hooks/...` answered by `capture_app` before Django."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await capture_app(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    app.app = django_app  # type: ignore[attr-defined]  # the wrapped app, as the other layers name it
    return app
