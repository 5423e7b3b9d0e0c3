"""Writes on captured events: the capture itself (one INSERT), the cap trim, delete and clear, notify."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from common.jobs import enqueue_after_commit
from common.ratelimit import Usage, fixed_window_hits

from ..forms import form_view
from ..models import Bin, CapturedEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BinConfig:
    """What the capture path needs to know about a bin (cached per process for BINS_CACHE_SECONDS)."""

    id: uuid.UUID
    owner_id: Any
    expires_at: datetime
    event_cap: int
    notify: bool
    response_status: int | None
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    response_content_type: str
    response_delay_ms: int


_CONFIGS: dict[uuid.UUID, tuple[float, BinConfig | None]] = {}
_CONFIGS_MAX = 10_000


MISSING: Any = object()


def bin_config_peek(*, bin_id: uuid.UUID) -> BinConfig | Any | None:
    """The cached settings (None: cached as "no such bin"), or MISSING; no I/O, safe on the event loop."""
    cached = _CONFIGS.get(bin_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    return MISSING


def bin_config_load(*, bin_id: uuid.UUID) -> BinConfig | None:
    """The bin's capture settings, from this process's cache or the database (None: no such bin)."""
    now = time.monotonic()
    cached = _CONFIGS.get(bin_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    bin = Bin.objects.filter(pk=bin_id).first()
    config = None
    if bin is not None:
        config = BinConfig(
            id=bin.pk,
            owner_id=bin.owner_id,
            expires_at=bin.expires_at,
            event_cap=bin.event_cap,
            notify=bin.notify,
            response_status=bin.response_status,
            response_headers=tuple((str(name), str(value)) for name, value in bin.response_headers),
            response_body=bin.response_body.encode("utf-8"),
            response_content_type=bin.response_content_type,
            response_delay_ms=bin.response_delay_ms,
        )
    if len(_CONFIGS) >= _CONFIGS_MAX:
        _CONFIGS.clear()
    _CONFIGS[bin_id] = (now + float(settings.BINS_CACHE_SECONDS), config)
    return config


def bin_config_forget(bin_id: uuid.UUID | None = None) -> None:
    """Drop this process's cached copy of a bin's settings (all of them without an id)."""
    if bin_id is None:
        _CONFIGS.clear()
    else:
        _CONFIGS.pop(bin_id, None)


def bin_capture_rate_hits(*, counts: dict[uuid.UUID, int]) -> dict[uuid.UUID, Usage] | None:
    """Count captures per bin against BINS_CAPTURE_RATE (one cache round trip for a whole batch); the
    usage after them, or None when the cache is unreachable (fail open: capture beats limiting)."""
    try:
        usages = fixed_window_hits({f"bins:capture:{bin_id}": n for bin_id, n in counts.items()}, "BINS_CAPTURE_RATE")
    except Exception:
        logger.warning("bins: capture rate-limit cache unavailable; captures not counted", exc_info=True)
        return None
    return {bin_id: usages[f"bins:capture:{bin_id}"] for bin_id in counts}


def bins_watched(*, bin_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the bins have a live viewer (one cache round trip); all of them when the cache is down."""
    from django.core.cache import cache

    from ..live import watch_key

    if not bin_ids:
        return set()
    try:
        marked = cache.get_many([watch_key(bin_id) for bin_id in bin_ids])
    except Exception:
        logger.warning("bins: watch marks unreadable; pushing to every bin", exc_info=True)
        return set(bin_ids)
    return {bin_id for bin_id in bin_ids if watch_key(bin_id) in marked}


def header_value(headers: list[list[str]], name: str) -> str:
    lower = name.lower()
    for header, value in headers:
        if header.lower() == lower:
            return value
    return ""


def captured_event_build(
    *,
    bin_id: uuid.UUID,
    method: str,
    path: str,
    sub_path: str,
    query_string: str,
    headers: list[list[str]],
    body: bytes,
    remote_ip: str,
    is_tls: bool,
    received_at: datetime | None = None,
) -> CapturedEvent:
    """The unsaved row for one captured request (with its parsed form view)."""
    content_type = header_value(headers, "content-type")
    return CapturedEvent(
        id=uuid.uuid4(),
        bin_id=bin_id,
        method=method,
        path=path,
        sub_path=sub_path,
        query_string=query_string,
        headers=headers,
        body=body,
        content_type=content_type[:255],
        content_length=len(body),
        remote_ip=remote_ip,
        is_tls=is_tls,
        received_at=received_at or timezone.now(),
        form=form_view(content_type, body) if body else None,
    )


def bin_event_capture(**fields: Any) -> CapturedEvent:
    """Store one captured request (one INSERT, autocommit). Raises IntegrityError when the bin is gone."""
    event = captured_event_build(**fields)
    event.save(force_insert=True)
    return event


# What `bin_events_capture_many` returns for a row the database refused (a value it cannot store).
UNSTORABLE = "unstorable"


def bin_events_capture_many(*, events: list[CapturedEvent]) -> list[CapturedEvent | str | None]:
    """Store built events with one multi-row INSERT (the capture path's batch); committed when it returns.

    If the batch's INSERT fails as a whole (a bin deleted meanwhile, or one row with a value the
    database refuses), each row is stored on its own, so one bad capture never costs the others: a
    row whose bin is gone comes back as None, a row the database refuses as UNSTORABLE.
    """
    if not events:
        return []
    try:
        with transaction.atomic():
            CapturedEvent.objects.bulk_create(events)
        return list(events)
    except (IntegrityError, DataError):
        stored: list[CapturedEvent | str | None] = []
        for event in events:
            try:
                with transaction.atomic():
                    event.save(force_insert=True)
                stored.append(event)
            except IntegrityError:
                bin_config_forget(event.bin_id)
                stored.append(None)
            except DataError:
                stored.append(UNSTORABLE)
        return stored


def bin_events_trim(*, bin_id: Any, cap: int) -> int:
    """Delete the bin's events beyond its newest `cap` (by received_at, then id); returns how many."""
    boundary = (
        CapturedEvent.objects.filter(bin_id=bin_id)
        .order_by("-received_at", "-id")
        .values_list("received_at", "id")[cap : cap + 1]
    )
    row = next(iter(boundary), None)
    if row is None:
        return 0
    at, pk = row
    stale = CapturedEvent.objects.filter(bin_id=bin_id).filter(Q(received_at__lt=at) | Q(received_at=at, id__lte=pk))
    # Through the collector, so the replay attempts of the dropped events go with them.
    _total, per_model = stale.delete()
    return int(per_model.get(CapturedEvent._meta.label, 0))


def bins_trim_all() -> int:
    """Trim every bin holding more events than its cap (the periodic safety net); returns rows deleted."""
    over = (
        CapturedEvent.objects.values("bin_id")
        .annotate(count=Count("id"), cap=F("bin__event_cap"))
        .filter(count__gt=F("cap"))
    )
    return sum(bin_events_trim(bin_id=row["bin_id"], cap=row["cap"]) for row in over)


def bin_event_delete(*, bin: Bin, event_id: Any) -> None:
    from ..selectors import event_get

    event_get(bin=bin, event_id=event_id).delete()


def bin_events_clear(*, bin: Bin) -> int:
    deleted, _ = CapturedEvent.objects.filter(bin=bin).delete()
    return int(deleted)


def notify_window(now: float | None = None) -> int:
    return int((now or time.time()) // int(settings.BINS_NOTIFY_INTERVAL_SECONDS))


def bin_notify_maybe(*, config: BinConfig, event_id: uuid.UUID) -> bool:
    """For a bin that opted in, queue one owner notification per BINS_NOTIFY_INTERVAL_SECONDS window.

    The first capture of a window wins a cache `add`; its task sends with a dedupe key derived from
    (bin, window), so a re-delivered task or a lost cache entry still writes one notification.
    """
    if not config.notify:
        return False
    from django.core.cache import cache

    window = notify_window()
    try:
        first = cache.add(
            f"bins:notify:{config.id}:{window}", 1, timeout=int(settings.BINS_NOTIFY_INTERVAL_SECONDS) + 5
        )
    except Exception:
        logger.warning("bins: notify throttle cache unavailable; notification skipped", exc_info=True)
        return False
    if not first:
        return False
    enqueue_after_commit("webhook_tester.tasks.bin_notify_task", str(config.id), str(event_id), window)
    return True


def bin_notify_send(*, bin_id: Any, event_id: Any, window: int) -> None:
    """Send the owner the "event received" notification of one window (idempotent by dedupe key)."""
    from notifications.services import notification_send

    bin = Bin.objects.filter(pk=bin_id).first()
    if bin is None or not bin.notify:
        return
    event = CapturedEvent.objects.filter(pk=event_id).only("method", "path").first()
    notification_send(
        user_id=bin.owner_id,
        kind="bin.event_received",
        title=f"Bin {bin.name or bin.pk} received a request",
        body=f"{event.method} {event.path}" if event else "",
        data={"bin_id": str(bin.pk), "event_id": str(event_id)},
        dedupe_key=uuid.uuid5(uuid.NAMESPACE_URL, f"bins:notify:{bin.pk}:{window}"),
    )
