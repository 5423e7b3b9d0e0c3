"""Sending one notification or the same one to many users, and marking them read.

Rows commit first, pushes follow after commit (see the package docstring); the seq of each row comes
from the recipient's counter row, locked until commit.
"""

from __future__ import annotations

import functools
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
from common.errors import FieldError, ValidationFailed
from common.serialization import json_dumps
from common.serializers import storable_text_problem

from ..models import Notification, NotificationCounter
from ..push import event_message, notification_message, read_message, user_group
from ..selectors import as_uuid, notification_get, with_read_state
from ..serializers import notification_payload

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
KIND_MAX_CHARS = 64


def _invalid(attr: str, detail: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(detail, errors=[FieldError(attr=attr, code=code, detail=detail)])


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
        problem = storable_text_problem(value)
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
    with connection.cursor() as cursor:
        cursor.execute(_counter_bump_sql(len(user_ids)), _counter_bump_params(user_ids, step))
        return {_user_pk(user): int(last) for user, last in cursor.fetchall()}


def _counter_bump_sql(user_count: int) -> str:
    """The statement of `_bump_counters` for `user_count` users; its parameters: `_counter_bump_params`."""
    users, counters = get_user_model()._meta, NotificationCounter._meta
    quote = connection.ops.quote_name
    counter_table = quote(counters.db_table)
    user_pk = quote(cast(str, users.pk.column))  # a concrete field always has a column
    # Identifiers come from model metadata, quoted; every value is a parameter.
    return (
        f"INSERT INTO {counter_table} (user_id, last_seq)"  # noqa: S608
        f" SELECT {user_pk}, %s FROM {quote(users.db_table)}"
        f" WHERE {user_pk} IN ({', '.join(['%s'] * user_count)}) ORDER BY {user_pk}"
        f" ON CONFLICT (user_id) DO UPDATE SET last_seq = {counter_table}.last_seq + %s"
        " RETURNING user_id, last_seq"
    )


def _counter_bump_params(user_ids: Sequence[uuid.UUID], step: int) -> list[Any]:
    prep = get_user_model()._meta.pk.get_db_prep_value
    return [step, *(prep(pk, connection) for pk in user_ids), step]


def _unknown_user() -> ValidationFailed:
    return _invalid("user_id", "No user with this id exists.", "unknown_user")


def _push_after_commit(rows: Sequence[Notification]) -> None:
    group_send_after_commit(
        [(user_group(row.recipient_id), notification_message(notification_payload(row))) for row in rows]
    )


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
    _push_after_commit(rows)
    return rows


def _store_one(pk: uuid.UUID, content: dict[str, Any]) -> Notification | None:
    """`_store` for one user without a dedupe key, on PostgreSQL: one statement, so atomic by itself.

    `WITH counter AS (INSERT ... ON CONFLICT ... RETURNING) INSERT INTO notifications ... SELECT FROM
    counter RETURNING seq`: the counter row stays locked until the statement commits, as in `_store`.
    Outside a transaction there is no BEGIN and COMMIT to send: one round trip instead of four, and
    no ORM insert to compile (together ~20 % of `POST /notifications`, issue 8). The row's values are
    prepared by its own model fields (defaults, `auto_now_add`, JSON). None for an unknown user.
    """
    row = Notification(recipient_id=pk, seq=0, dedupe_key=None, **content)
    values = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in _one_statement_fields()]
    with connection.cursor() as cursor:
        cursor.execute(_one_statement_sql(), [*_counter_bump_params([pk], 1), *values])
        inserted = cursor.fetchone()
    if inserted is None:
        return None
    row.seq = int(inserted[0])
    row._state.adding, row._state.db = False, connection.alias
    _push_after_commit([row])
    return row


@functools.cache
def _one_statement_fields() -> tuple[Any, ...]:
    """The row's columns that `_store_one` fills from the row itself (recipient and seq come from the counter)."""
    return tuple(f for f in Notification._meta.concrete_fields if f.attname not in ("recipient_id", "seq"))


@functools.cache
def _one_statement_sql() -> str:
    """`_counter_bump_sql(1)` as a CTE feeding the notification's INSERT (built once: PostgreSQL only)."""
    notifications = Notification._meta
    quote = connection.ops.quote_name
    columns = [quote(cast(str, field.column)) for field in _one_statement_fields()]
    by_name = {field.name: field for field in notifications.concrete_fields}
    recipient, seq = (quote(cast(str, by_name[name].column)) for name in ("recipient", "seq"))
    return (
        f"WITH counter AS ({_counter_bump_sql(1)})"  # noqa: S608 - identifiers from model metadata, quoted
        f" INSERT INTO {quote(notifications.db_table)} ({recipient}, {seq}, {', '.join(columns)})"
        f" SELECT user_id, last_seq, {', '.join(['%s'] * len(columns))} FROM counter RETURNING {seq}"
    )


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
    for bad content or an unknown user. Without a key, on PostgreSQL, the write is one statement
    (`_store_one`); otherwise a transaction of its own.
    """
    content = _clean_content(kind=kind, title=title, body=body, data=data)
    pk = _user_pk(user_id)
    key = _dedupe_key(dedupe_key)
    if key is None and connection.vendor == "postgresql":
        stored = _store_one(pk, content)
        if stored is None:
            raise _unknown_user()
        return stored
    return _send_in_transaction(pk, content, key)


@transaction.atomic
def _send_in_transaction(pk: uuid.UUID, content: dict[str, Any], key: uuid.UUID | None) -> Notification:
    stored = _store([pk], content, key)
    if stored:
        return stored[0]
    existing = Notification.objects.filter(recipient_id=pk, dedupe_key=key).first() if key else None
    if existing is None:
        raise _unknown_user()
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


EVENT_PATTERN = KIND_PATTERN


def notification_event_publish(*, user_id: Any, event: str, data: dict[str, Any]) -> None:
    """Push an ephemeral event to the user's live connections after commit: no row, no seq, no replay.

    For progress that is worth seeing live but not worth keeping (a conversion at 40 %); the final
    outcome should be a real notification (`notification_send`). WebSocket clients get
    `{"type": "event", "event": ..., "data": ...}`, SSE clients an `event: <event>` frame.
    """
    if not isinstance(event, str) or len(event) > KIND_MAX_CHARS or not EVENT_PATTERN.match(event):
        raise _invalid("event", "event must be a dotted lowercase name such as `file.conversion.progress`.")
    clean = json.loads(json_dumps(data))
    group_send_after_commit([(user_group(_user_pk(user_id)), event_message(event=event, data=clean))])
