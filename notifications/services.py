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
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from common.channels import group_send_after_commit
from common.errors import FieldError, PermissionDenied, ValidationFailed
from common.serialization import json_dumps

from .models import Notification, NotificationCounter
from .push import notification_message, read_message, user_group
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


def _user_pk(user_id: Any, attr: str = "user_id") -> uuid.UUID:
    pk = as_uuid(user_id)
    if pk is None:
        raise _invalid(attr, f"{attr} holds an id that is not valid: {str(user_id)[:64]!r}.", "unknown_user")
    return pk


def _bump_counters(user_ids: Sequence[uuid.UUID], step: int) -> dict[uuid.UUID, int]:
    """Add `step` to each existing user's counter (creating it at `step`); returns `{user: last_seq}`.

    One statement, `INSERT ... SELECT FROM users ... ON CONFLICT DO UPDATE ... RETURNING`: unknown
    users are simply absent from the result, and each counter row stays locked until commit. The
    SELECT takes users in pk order, so two batches lock their rows in the same order and never
    deadlock. `step` 0 only creates and locks. (Raw SQL: the ORM cannot express `last_seq + 1` on
    conflict, and this runs once per notification.)
    """
    if not user_ids:
        return {}
    users = get_user_model()._meta
    counters = NotificationCounter._meta
    quote = connection.ops.quote_name
    counter_table = quote(counters.db_table)
    user_pk = quote(cast(str, users.pk.column))  # a concrete field always has a column
    # Identifiers come from model metadata, quoted; every value is a parameter.
    sql = (
        f"INSERT INTO {counter_table} (user_id, last_seq)"  # noqa: S608
        f" SELECT {user_pk}, %s FROM {quote(users.db_table)}"
        f" WHERE {user_pk} IN ({', '.join(['%s'] * len(user_ids))}) ORDER BY {user_pk}"
        f" ON CONFLICT (user_id) DO UPDATE SET last_seq = {counter_table}.last_seq + %s"
        " RETURNING user_id, last_seq"
    )
    prep = users.pk.get_db_prep_value
    params = [step, *(prep(pk, connection) for pk in user_ids), step]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {_user_pk(user): int(last) for user, last in cursor.fetchall()}


def _allocate_seqs(user_ids: Sequence[uuid.UUID], dedupe_key: uuid.UUID | None = None) -> dict[uuid.UUID, int]:
    """Hand out the next seq to each existing user; unknown users are left out of the result.

    With a `dedupe_key`, users who already have a row with that key get no seq (and are left out
    too): their counters are locked first and the check runs under the locks, so two runs of the
    same task cannot both miss it, and no seq is ever handed out without its row.
    """
    if dedupe_key is None:
        return _bump_counters(user_ids, 1)
    known = list(_bump_counters(user_ids, 0))
    done = set(
        Notification.objects.filter(dedupe_key=dedupe_key, recipient_id__in=known).values_list(
            "recipient_id", flat=True
        )
    )
    return _bump_counters([pk for pk in known if pk not in done], 1)


def _store(user_ids: Sequence[uuid.UUID], content: dict[str, Any], key: uuid.UUID | None) -> list[Notification]:
    """Allocate seqs, insert the rows and queue their pushes for after commit (caller's transaction)."""
    seqs = _allocate_seqs(user_ids, key)
    rows = Notification.objects.bulk_create(
        [Notification(recipient_id=pk, seq=seqs[pk], dedupe_key=key, **content) for pk in user_ids if pk in seqs]
    )
    group_send_after_commit(
        [(user_group(row.recipient_id), notification_message(notification_payload(row))) for row in rows]
    )
    return rows


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
    stored = _store([pk], content, key)
    if stored:
        return stored[0]
    existing = Notification.objects.filter(recipient_id=pk, dedupe_key=key).first() if key else None
    if existing is None:
        raise _invalid("user_id", "No user with this id exists.", "unknown_user")
    return existing


@transaction.atomic
def notification_send_many(
    *,
    user_ids: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    dedupe_key: Any = None,
) -> list[Notification]:
    """The same notification to each of `user_ids`, in one transaction; returns the rows written.

    For fan-out (the members of something, a burst of events): one statement allocates every seq and
    one INSERT writes every row, so it costs a fraction of one `notification_send` per user. Each user
    still gets their own row, seq and push. Unknown ids and repeats are skipped; with a `dedupe_key`
    so are users who already have it. At most NOTIFICATIONS_BROADCAST_BATCH_SIZE users per call (one
    transaction holds their counter locks); `notification_broadcast` calls it batch by batch.
    """
    content = _clean_content(kind=kind, title=title, body=body, data=data)
    key = _dedupe_key(dedupe_key)
    pks = list(dict.fromkeys(_user_pk(user_id, "user_ids") for user_id in user_ids))
    limit = settings.NOTIFICATIONS_BROADCAST_BATCH_SIZE
    if len(pks) > limit:
        raise _invalid("user_ids", f"At most {limit} users per call; send in batches.", "too_many_recipients")
    return _store(pks, content, key)


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
    size = min(batch_size or settings.NOTIFICATIONS_BROADCAST_BATCH_SIZE, settings.NOTIFICATIONS_BROADCAST_BATCH_SIZE)
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    total = 0
    last_pk: Any = None
    while True:
        page = users.filter(pk__gt=last_pk) if last_pk is not None else users
        pks: list[uuid.UUID] = list(page.values_list("pk", flat=True)[:size])
        if not pks:
            return total
        total += len(notification_send_many(user_ids=pks, dedupe_key=broadcast_id, **content))
        last_pk = pks[-1]


def notification_mark_read(*, user: Any, notification_id: Any) -> Notification:
    """Mark one of the user's notifications read (idempotent: the first read time is kept)."""
    notification = notification_get(user=user, notification_id=notification_id)
    if notification.read_at is None:
        now = timezone.now()
        changed = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        if changed:
            notification.read_at = now
            group_send_after_commit([(user_group(user.pk), read_message(ids=[str(notification.pk)], count=1))])
        else:
            notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, user: Any) -> int:
    """Mark every unread notification of the user read in one UPDATE; returns how many changed."""
    unread = with_read_state(Notification.objects.filter(recipient=user), unread=True)
    changed = unread.update(read_at=timezone.now())
    if changed:
        group_send_after_commit([(user_group(user.pk), read_message(all_read=True, count=changed))])
    return changed
