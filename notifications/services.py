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

from common.errors import FieldError, PermissionDenied, ValidationFailed
from common.serialization import json_dumps

from .models import Notification, NotificationCounter
from .push import notification_message, publish_on_commit, read_message, user_group
from .selectors import as_uuid, notification_get, with_read_state
from .serializers import notification_payload

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
KIND_MAX_CHARS = 64


def _invalid(attr: str, detail: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(detail, errors=[FieldError(attr=attr, code=code, detail=detail)])


def _text_problem(value: Any) -> str | None:
    """Why a string (or any string inside a JSON value) cannot be stored, or None.

    PostgreSQL text and jsonb cannot hold U+0000, and a lone surrogate (valid in a JSON `\\ud800`
    escape, not in UTF-8) cannot be encoded at all; both are refused everywhere.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain the NUL character (U+0000)"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must not contain a lone surrogate (e.g. an unpaired \\ud800 escape)"
        return None
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    for item in items:
        problem = _text_problem(item)
        if problem:
            return problem
    return None


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
        size = len(encoded.encode())
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise _invalid("data", f"data is not storable JSON: {exc}") from exc
    if size > settings.NOTIFICATIONS_DATA_MAX_BYTES:
        raise _invalid("data", f"data is larger than {settings.NOTIFICATIONS_DATA_MAX_BYTES} bytes as JSON.")
    clean_data = json.loads(encoded)
    for attr, value in (("title", title), ("body", body), ("data", clean_data)):
        problem = _text_problem(value)
        if problem:
            raise _invalid(attr, f"{attr} {problem}.")
    return {"kind": kind, "title": title, "body": body, "data": clean_data}


def _user_pk(user_id: Any) -> uuid.UUID:
    pk = as_uuid(user_id)
    if pk is None:
        raise _invalid("user_id", "user_id is not a valid id.", "unknown_user")
    return pk


def _allocate_seqs(user_ids: Sequence[uuid.UUID], dedupe_key: uuid.UUID | None = None) -> dict[uuid.UUID, int]:
    """Hand out the next seq to each user. Row locks (taken in pk order) are held until commit.

    With a `dedupe_key`, users who already have a row with that key get no seq (and are left out of
    the result): the check runs under the counter locks, so two runs of the same task cannot both
    miss it, and no seq is ever handed out without its row.
    """
    NotificationCounter.objects.bulk_create(
        [NotificationCounter(user_id=pk, last_seq=0) for pk in user_ids], ignore_conflicts=True
    )
    if len(user_ids) > 1 or dedupe_key is not None:
        # One UPDATE may lock rows in any order; lock them in pk order first so batches never deadlock.
        locked = NotificationCounter.objects.filter(user_id__in=user_ids).select_for_update().order_by("user_id")
        list(locked.values_list("user_id", flat=True))
    if dedupe_key is not None:
        done = set(
            Notification.objects.filter(dedupe_key=dedupe_key, recipient_id__in=user_ids).values_list(
                "recipient_id", flat=True
            )
        )
        user_ids = [pk for pk in user_ids if pk not in done]
    if not user_ids:
        return {}
    counters = NotificationCounter.objects.filter(user_id__in=user_ids)
    counters.update(last_seq=F("last_seq") + 1)
    return dict(counters.values_list("user_id", "last_seq"))


def _push(notifications: Sequence[Notification]) -> None:
    publish_on_commit(
        [(user_group(item.recipient_id), notification_message(notification_payload(item))) for item in notifications]
    )


@transaction.atomic
def notification_send(
    *,
    user_id: Any,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    dedupe_key: Any = None,
) -> Notification:
    """Store one notification for `user_id` and push it to the user's live connections after commit.

    Callable from request code and from Celery tasks; inside an outer transaction the push waits for
    the outermost commit. With a `dedupe_key` (a UUID) a second call with the same key returns the
    first call's row and writes nothing (what makes a retried task safe). Raises `ValidationFailed`
    for bad content or an unknown user.
    """
    content = _clean_content(kind=kind, title=title, body=body, data=data)
    pk = _user_pk(user_id)
    key = _dedupe_key(dedupe_key)
    if not get_user_model().objects.filter(pk=pk).exists():
        raise _invalid("user_id", "No user with this id exists.", "unknown_user")
    seqs = _allocate_seqs([pk], key)
    if pk not in seqs:
        return Notification.objects.get(recipient_id=pk, dedupe_key=key)
    notification = Notification.objects.create(recipient_id=pk, seq=seqs[pk], dedupe_key=key, **content)
    _push([notification])
    return notification


def _dedupe_key(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    key = as_uuid(value)
    if key is None:
        raise _invalid("dedupe_key", "dedupe_key must be a UUID.")
    return key


def notification_create(
    *,
    actor: Any,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    user_id: Any = None,
    broadcast: bool = False,
) -> Notification | uuid.UUID:
    """What `POST /notifications` does: check who may target whom, validate, then send or queue.

    A user may notify only themselves; staff may name any user or broadcast to every active user.
    A broadcast is validated here, before anything is queued, and queued after commit with a fresh
    broadcast id (its dedupe key); returns that id. Otherwise returns the stored notification.
    """
    if broadcast:
        if not actor.is_staff:
            raise PermissionDenied("Only staff may broadcast.", code="broadcast_forbidden")
        if user_id is not None:
            raise _invalid("user_id", "Leave out user_id when broadcast is true.")
        content = _clean_content(kind=kind, title=title, body=body, data=data)
        broadcast_id = uuid.uuid4()
        from .tasks import notification_broadcast_task  # tasks import this module

        transaction.on_commit(lambda: notification_broadcast_task.delay(**content, broadcast_id=str(broadcast_id)))
        return broadcast_id
    target = actor.pk if user_id is None else _user_pk(user_id)
    if target != actor.pk and not actor.is_staff:
        raise PermissionDenied("Only staff may notify another user.", code="recipient_forbidden")
    return notification_send(user_id=target, kind=kind, title=title, body=body, data=data)


def notification_broadcast(
    *,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    batch_size: int | None = None,
    broadcast_id: Any = None,
) -> int:
    """Send the same notification to every active user, `batch_size` users per transaction.

    Each user gets their own row and seq, pushed to their own group (no all-users group). With a
    `broadcast_id` (a UUID; the task always passes one) a re-run skips the users who already have
    it, so a retried or redelivered task sends nobody the notification twice. Returns the number of
    notifications written by this run.
    """
    content = _clean_content(kind=kind, title=title, body=body, data=data)
    key = _dedupe_key(broadcast_id)
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
            seqs = _allocate_seqs(pks, key)
            rows = Notification.objects.bulk_create(
                [Notification(recipient_id=pk, seq=seqs[pk], dedupe_key=key, **content) for pk in pks if pk in seqs]
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
    unread = with_read_state(Notification.objects.filter(recipient=user), unread=True)
    changed = unread.update(read_at=timezone.now())
    if changed:
        publish_on_commit([(user_group(user.pk), read_message(all_read=True, count=changed))])
    return changed
