"""Group commit for captures: one thread hop, one Redis round trip and one INSERT per batch, then the pushes."""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection

from common.channels import group_send_bounded

from .. import services
from ..live import bin_group, events_message

logger = logging.getLogger(__name__)

_since_trim: dict[uuid.UUID, int] = {}


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
