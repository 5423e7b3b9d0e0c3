"""Reads. Every query is scoped to a bin its caller may read; another user's bin is NotFound (404)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet, TextField
from django.db.models.functions import Cast

from common.errors import NotFound

from .models import Bin, CapturedEvent, ReplayAttempt


def as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _bin_not_found() -> NotFound:
    return NotFound("No bin with this id exists for you.", code="bin_not_found")


def bin_list(*, owner: Any) -> QuerySet[Bin]:
    return Bin.objects.filter(owner=owner)


def bin_get_owned(*, owner: Any, bin_id: Any, for_update: bool = False) -> Bin:
    """The owner's bin; anyone else's (or a malformed id) is NotFound."""
    pk = as_uuid(bin_id)
    if pk is None or owner is None or not getattr(owner, "is_authenticated", False):
        raise _bin_not_found()
    queryset = Bin.objects.filter(pk=pk, owner=owner)
    if for_update:
        queryset = queryset.select_for_update()
    bin = queryset.first()
    if bin is None:
        raise _bin_not_found()
    return bin


def bin_get_readable(*, user: Any, bin_id: Any, read_key: str | None = None) -> Bin:
    """The bin for reading: its owner, or anyone presenting the bin's read key (compared in constant time)."""
    pk = as_uuid(bin_id)
    bin = Bin.objects.filter(pk=pk).first() if pk else None
    if bin is None:
        raise _bin_not_found()
    if getattr(user, "is_authenticated", False) and bin.owner_id == user.pk:
        return bin
    if read_key and bin.read_key_hash:
        presented = hashlib.sha256(read_key.encode("utf-8")).hexdigest()
        if hmac.compare_digest(presented, bin.read_key_hash):
            return bin
    raise _bin_not_found()


def event_list(
    *,
    bin: Bin,
    method: str | None = None,
    path_prefix: str | None = None,
    content_type: str | None = None,
    received_after: datetime | None = None,
    received_before: datetime | None = None,
    q: str | None = None,
) -> QuerySet[CapturedEvent]:
    """The bin's events, filtered (unordered: the paginator orders newest first).

    `q` searches the body bytes (case-sensitive, as UTF-8) and the headers' JSON text (case-insensitive).
    """
    queryset = CapturedEvent.objects.filter(bin=bin)
    if method:
        queryset = queryset.filter(method=method.upper())
    if path_prefix:
        queryset = queryset.filter(sub_path__startswith=path_prefix)
    if content_type:
        queryset = queryset.filter(content_type__istartswith=content_type)
    if received_after:
        queryset = queryset.filter(received_at__gte=received_after)
    if received_before:
        queryset = queryset.filter(received_at__lt=received_before)
    if q:
        queryset = queryset.annotate(headers_text=Cast("headers", TextField())).filter(
            Q(body__bytes_contains=q.encode("utf-8")) | Q(headers_text__icontains=q)
        )
    return queryset


M = TypeVar("M", bound=Model)


def _one(queryset: QuerySet[M], pk: Any, error: NotFound) -> M:
    """The row of `queryset` with primary key `pk` (a UUID or its text); `error` when absent or malformed."""
    key = as_uuid(pk)
    row = queryset.filter(pk=key).first() if key else None
    if row is None:
        raise error
    return row


def event_get(*, bin: Bin, event_id: Any) -> CapturedEvent:
    error = NotFound("No event with this id exists in this bin.", code="event_not_found")
    return _one(CapturedEvent.objects.filter(bin=bin), event_id, error)


def replay_list(*, event: CapturedEvent) -> QuerySet[ReplayAttempt]:
    return ReplayAttempt.objects.filter(event=event)


def replay_get(*, event: CapturedEvent, replay_id: Any) -> ReplayAttempt:
    error = NotFound("No replay with this id exists for this event.", code="replay_not_found")
    return _one(ReplayAttempt.objects.filter(event=event), replay_id, error)
