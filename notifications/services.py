"""Writes: send, broadcast, mark read. The contract every other app calls.

Persist, then push: each notification row commits first, then `transaction.on_commit` publishes it to
the recipient's group (`notifications.user.<id>`). Sequence numbers come from a per-user counter row
whose lock is held until commit, so a user's seqs commit in order with no gaps: a client that has
seen seq N can always fetch N-1 from the database.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common.errors import FieldError, ValidationFailed
from common.serialization import json_dumps

from .models import Notification, NotificationCounter
from .push import notification_message, publish_on_commit, read_message, user_group
from .selectors import notification_get
from .serializers import notification_payload

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
KIND_MAX_CHARS = 64


def _invalid(attr: str, detail: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(detail, errors=[FieldError(attr=attr, code=code, detail=detail)])


def _has_nul(value: Any) -> bool:
    """PostgreSQL text and jsonb cannot hold U+0000, so it is refused everywhere."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def _clean_content(*, kind: str, title: str, body: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """Validate and normalise; `data` becomes plain JSON (UUID, datetime, Decimal become strings)."""
    if not isinstance(kind, str) or len(kind) > KIND_MAX_CHARS or not KIND_PATTERN.match(kind):
        raise _invalid("kind", "kind must be a dotted lowercase name such as `order.paid` (at most 64 characters).")
    if not isinstance(title, str) or not title.strip():
        raise _invalid("title", "title must be a non-empty string.")
    if len(title) > settings.NOTIFICATIONS_TITLE_MAX_CHARS:
        raise _invalid("title", f"title is longer than {settings.NOTIFICATIONS_TITLE_MAX_CHARS} characters.")
    if not isinstance(body, str):
        raise _invalid("body", "body must be a string.")
    if len(body) > settings.NOTIFICATIONS_BODY_MAX_CHARS:
        raise _invalid("body", f"body is longer than {settings.NOTIFICATIONS_BODY_MAX_CHARS} characters.")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _invalid("data", "data must be a JSON object.")
    try:
        encoded = json_dumps(data)
    except (TypeError, ValueError) as exc:
        raise _invalid("data", f"data is not JSON-serialisable: {exc}") from exc
    if len(encoded.encode()) > settings.NOTIFICATIONS_DATA_MAX_BYTES:
        raise _invalid("data", f"data is larger than {settings.NOTIFICATIONS_DATA_MAX_BYTES} bytes as JSON.")
    clean_data = json.loads(encoded)
    for attr, value in (("title", title), ("body", body), ("data", clean_data)):
        if _has_nul(value):
            raise _invalid(attr, f"{attr} must not contain the NUL character (U+0000).")
    return {"kind": kind, "title": title, "body": body, "data": clean_data}


def _user_pk(user_id: Any) -> uuid.UUID:
    try:
        return user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except (TypeError, ValueError, AttributeError) as exc:
        raise _invalid("user_id", "user_id is not a valid id.", "unknown_user") from exc


def _allocate_seqs(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Hand out the next seq to each user. Row locks (taken in pk order) are held until commit."""
    NotificationCounter.objects.bulk_create(
        [NotificationCounter(user_id=pk, last_seq=0) for pk in user_ids], ignore_conflicts=True
    )
    counters = NotificationCounter.objects.filter(user_id__in=user_ids)
    if len(user_ids) > 1:
        # One UPDATE may lock rows in any order; lock them in pk order first so batches never deadlock.
        list(counters.select_for_update().order_by("user_id").values_list("user_id", flat=True))
    counters.update(last_seq=F("last_seq") + 1)
    return dict(counters.values_list("user_id", "last_seq"))


def _push(notifications: Sequence[Notification]) -> None:
    publish_on_commit(
        [(user_group(item.recipient_id), notification_message(notification_payload(item))) for item in notifications]
    )


@transaction.atomic
def notification_send(
    *, user_id: Any, kind: str, title: str, body: str = "", data: dict[str, Any] | None = None
) -> Notification:
    """Store one notification for `user_id` and push it to the user's live connections after commit.

    Callable from request code and from Celery tasks; inside an outer transaction the push waits for
    the outermost commit. Raises `ValidationFailed` for bad content or an unknown user.
    """
    content = _clean_content(kind=kind, title=title, body=body, data=data)
    pk = _user_pk(user_id)
    if not get_user_model().objects.filter(pk=pk).exists():
        raise _invalid("user_id", "No user with this id exists.", "unknown_user")
    seq = _allocate_seqs([pk])[pk]
    notification = Notification.objects.create(recipient_id=pk, seq=seq, **content)
    _push([notification])
    return notification


def notification_broadcast(
    *,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    batch_size: int | None = None,
) -> int:
    """Send the same notification to every active user, `batch_size` users per transaction.

    Each user gets their own row and seq, pushed to their own group (no all-users group). Returns the
    number of notifications written.
    """
    content = _clean_content(kind=kind, title=title, body=body, data=data)
    size = batch_size or settings.NOTIFICATIONS_BROADCAST_BATCH_SIZE
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    total = 0
    last_pk: Any = None
    while True:
        page = users.filter(pk__gt=last_pk) if last_pk is not None else users
        pks: list[uuid.UUID] = list(page.values_list("pk", flat=True)[:size])
        if not pks:
            return total
        with transaction.atomic():
            seqs = _allocate_seqs(pks)
            rows = Notification.objects.bulk_create(
                [Notification(recipient_id=pk, seq=seqs[pk], **content) for pk in pks]
            )
            _push(rows)
        total += len(rows)
        last_pk = pks[-1]


def notification_mark_read(*, user: Any, notification_id: Any) -> Notification:
    """Mark one of the user's notifications read (idempotent: the first read time is kept)."""
    notification = notification_get(user=user, notification_id=notification_id)
    if notification.read_at is None:
        now = timezone.now()
        changed = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        if changed:
            notification.read_at = now
            publish_on_commit([(user_group(user.pk), read_message(ids=[str(notification.pk)], count=1))])
        else:
            notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, user: Any) -> int:
    """Mark every unread notification of the user read in one UPDATE; returns how many changed."""
    changed = Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
    if changed:
        publish_on_commit([(user_group(user.pk), read_message(all_read=True, count=changed))])
    return changed
