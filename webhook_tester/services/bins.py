"""Writes on bins: create, update, delete, read keys, and the periodic purge of expired bins."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.errors import Conflict, FieldError, ValidationFailed

from ..models import Bin, CapturedEvent
from ..selectors import bin_get_owned
from .events import bin_config_forget

# Response headers a bin may set: a few standard ones, and custom X- headers except those that
# change how a browser treats our origin (the capture URL is on the platform's host).
ALLOWED_RESPONSE_HEADERS = frozenset(
    {"cache-control", "etag", "last-modified", "retry-after", "vary", "www-authenticate", "link", "expires"}
)
FORBIDDEN_X_HEADERS = frozenset(
    {"x-frame-options", "x-content-type-options", "x-xss-protection", "x-request-id", "x-powered-by"}
)
MAX_RESPONSE_HEADERS = 20
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}(\s*;[^\r\n\x00]{0,200})?$")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

READ_KEY_PREFIX = "bk_"


def _invalid(attr: str, detail: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(detail, errors=[FieldError(attr=attr, code=code, detail=detail)])


def response_headers_clean(headers: Any) -> list[list[str]]:
    """A custom response's headers as [[name, value], ...]: allow-listed names, single-line values."""
    items: list[tuple[Any, Any]]
    if isinstance(headers, dict):
        items = list(headers.items())
    elif isinstance(headers, list) and all(isinstance(pair, list | tuple) and len(pair) == 2 for pair in headers):
        items = [(pair[0], pair[1]) for pair in headers]
    else:
        raise _invalid("response.headers", "An object of header names to values, or a list of [name, value].")
    if len(items) > MAX_RESPONSE_HEADERS:
        raise _invalid("response.headers", f"At most {MAX_RESPONSE_HEADERS} headers.", "too_many")
    cleaned: list[list[str]] = []
    for name, value in items:
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise _invalid("response.headers", f"{name!r} is not a header name.")
        lower = name.lower()
        allowed = lower in ALLOWED_RESPONSE_HEADERS or (lower.startswith("x-") and lower not in FORBIDDEN_X_HEADERS)
        if not allowed:
            raise _invalid(
                "response.headers",
                f"The header {name} may not be set; allowed: X-* and {', '.join(sorted(ALLOWED_RESPONSE_HEADERS))}.",
                "header_not_allowed",
            )
        if not isinstance(value, str) or len(value) > 1000 or _BAD_VALUE.search(value):
            raise _invalid("response.headers", f"The value of {name} must be one line of at most 1000 characters.")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise _invalid("response.headers", f"The value of {name} must be Latin-1 text.") from None
        cleaned.append([name, value])
    return cleaned


def _response_fields(response: dict[str, Any] | None) -> dict[str, Any]:
    """Model fields from the API's `response` object (None: the JSON receipt)."""
    if response is None:
        return {
            "response_status": None,
            "response_headers": [],
            "response_body": "",
            "response_content_type": "",
            "response_delay_ms": 0,
        }
    status = response.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        raise _invalid("response.status", "A status code from 200 to 599.")
    body = response.get("body", "")
    if not isinstance(body, str):
        raise _invalid("response.body", "A string.")
    limit = int(settings.BINS_RESPONSE_BODY_MAX_BYTES)
    if len(body.encode("utf-8")) > limit:
        raise _invalid("response.body", f"At most {limit} bytes (UTF-8).", "too_large")
    content_type = response.get("content_type", "text/plain; charset=utf-8") or "text/plain; charset=utf-8"
    if not isinstance(content_type, str) or not _MEDIA_TYPE.match(content_type):
        raise _invalid("response.content_type", "A media type such as application/json.")
    delay = response.get("delay_ms", 0)
    max_delay = int(settings.BINS_RESPONSE_DELAY_MAX_MS)
    if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= max_delay:
        raise _invalid("response.delay_ms", f"Milliseconds from 0 to {max_delay}.")
    return {
        "response_status": status,
        "response_headers": response_headers_clean(response.get("headers", {})),
        "response_body": body,
        "response_content_type": content_type,
        "response_delay_ms": delay,
    }


def _replay_url_clean(url: str) -> str:
    if not url:
        return ""
    from common.outbound import OutboundBlocked, outbound_url_check

    try:
        outbound_url_check(url)
    except OutboundBlocked as exc:  # a 422 problem naming the field, as common.outbound intends
        exc.errors = [exc.as_field_error("replay_url")]
        raise
    return url


def _cap_clean(event_cap: int | None) -> int:
    maximum = int(settings.BINS_EVENT_CAP)
    if event_cap is None:
        return maximum
    if not 1 <= event_cap <= maximum:
        raise _invalid("event_cap", f"From 1 to {maximum}.")
    return event_cap


def read_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def bin_create(
    *,
    owner: Any,
    name: str = "",
    response: dict[str, Any] | None = None,
    event_cap: int | None = None,
    replay_url: str = "",
    notify: bool = False,
    read_key: bool = False,
) -> tuple[Bin, str | None]:
    """A new bin for `owner`; returns it and its read key (shown once) when one was asked for."""
    fields = _response_fields(response)
    cap = _cap_clean(event_cap)
    url = _replay_url_clean(replay_url)
    with transaction.atomic():
        # Counted under the owner's row lock, so two concurrent creates cannot both pass the limit.
        type(owner)._default_manager.select_for_update().filter(pk=owner.pk).first()
        if Bin.objects.filter(owner=owner).count() >= int(settings.BINS_MAX_PER_USER):
            raise Conflict(f"You already have {settings.BINS_MAX_PER_USER} bins; delete one first.", code="bin_limit")
        key = f"{READ_KEY_PREFIX}{secrets.token_urlsafe(24)}" if read_key else None
        bin = Bin.objects.create(
            owner=owner,
            name=name,
            expires_at=timezone.now() + timedelta(days=int(settings.BINS_RETENTION_DAYS)),
            event_cap=cap,
            replay_url=url,
            notify=notify,
            read_key_hash=read_key_hash(key) if key else "",
            **fields,
        )
    return bin, key


UNSET: Any = object()


def bin_update(
    *,
    owner: Any,
    bin_id: Any,
    name: Any = UNSET,
    response: Any = UNSET,
    event_cap: Any = UNSET,
    replay_url: Any = UNSET,
    notify: Any = UNSET,
    read_key: Any = UNSET,
    renew: bool = False,
) -> tuple[Bin, str | None]:
    """Change the given fields of the owner's bin; `renew` restarts its retention period."""
    with transaction.atomic():
        bin = bin_get_owned(owner=owner, bin_id=bin_id, for_update=True)
        key: str | None = None
        if name is not UNSET:
            bin.name = name
        if response is not UNSET:
            for field, value in _response_fields(response).items():
                setattr(bin, field, value)
        if event_cap is not UNSET:
            bin.event_cap = _cap_clean(event_cap)
        if replay_url is not UNSET:
            bin.replay_url = _replay_url_clean(replay_url or "")
        if notify is not UNSET:
            bin.notify = bool(notify)
        if read_key is not UNSET:
            key = f"{READ_KEY_PREFIX}{secrets.token_urlsafe(24)}" if read_key else None
            bin.read_key_hash = read_key_hash(key) if key else ""
        if renew:
            bin.expires_at = timezone.now() + timedelta(days=int(settings.BINS_RETENTION_DAYS))
        bin.save()
    # Committed above: this process's capture path sees the change at once; others within BINS_CACHE_SECONDS.
    bin_config_forget(bin.pk)
    return bin, key


def bin_delete(*, owner: Any, bin_id: Any) -> None:
    bin = bin_get_owned(owner=owner, bin_id=bin_id)
    pk = bin.pk
    bin.delete()
    bin_config_forget(pk)


def bins_purge_expired(*, now: Any = None, batch: int = 200) -> int:
    """Delete expired bins (and their events), `batch` at a time; returns how many."""
    now = now or timezone.now()
    deleted = 0
    while True:
        ids = list(Bin.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            CapturedEvent.objects.filter(bin_id__in=ids).delete()
            Bin.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
