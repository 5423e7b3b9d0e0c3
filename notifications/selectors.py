"""Reads. Every query is scoped to one recipient, so nobody reads another user's notifications."""

import functools
import uuid
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import Count, QuerySet

from common.errors import NotFound

from .models import Notification, NotificationCounter


def as_uuid(value: Any) -> uuid.UUID | None:
    """`value` as a UUID (a UUID, or its text), None when it is not one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def with_read_state(queryset: QuerySet[Notification], *, unread: bool | None) -> QuerySet[Notification]:
    """Only unread (True) or only read (False) notifications; None keeps all. The one unread filter
    (the list, the count, mark-all-read, the admin)."""
    if unread is None:
        return queryset
    return queryset.filter(read_at__isnull=unread)


def notification_list(*, user: Any, unread: bool | None = None, kind: str | None = None) -> QuerySet[Notification]:
    """The user's notifications (unordered: the paginator orders by seq)."""
    queryset = with_read_state(Notification.objects.filter(recipient=user), unread=unread)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset


def notification_get(*, user: Any, notification_id: Any) -> Notification:
    """One of the user's notifications; another user's (or a malformed id) is NotFound, never 403."""
    pk = as_uuid(notification_id)
    notification = Notification.objects.filter(recipient=user, pk=pk).first() if pk else None
    if notification is None:
        raise NotFound("No notification with this id exists for you.", code="notification_not_found")
    return notification


def notification_unread_count(*, user: Any) -> int:
    """How many of the user's notifications are unread: exact, one indexed query.

    The most polled read of the API (badges), so the ORM's statement is built once per database and
    reused: building `.filter(...).count()` was ~60 % of the request (issue 8). The statement comes
    from `with_read_state`, so the unread filter still lives in one place.
    """
    connection = connections[router.db_for_read(Notification)]
    recipient = Notification._meta.get_field("recipient").target_field
    with connection.cursor() as cursor:
        cursor.execute(_unread_count_sql(connection.alias), [recipient.get_db_prep_value(user.pk, connection)])
        row = cursor.fetchone()
    return int(row[0]) if row else 0  # no row: GROUP BY over no unread notification


@functools.cache
def _unread_count_sql(alias: str) -> str:
    """`SELECT COUNT(*) ... WHERE recipient_id = %s AND <unread> GROUP BY recipient_id`, from the ORM."""
    queryset = with_read_state(Notification.objects.using(alias).filter(recipient_id=uuid.UUID(int=0)), unread=True)
    counted = queryset.order_by().values("recipient_id").annotate(unread_count=Count("*")).values("unread_count")
    sql, params = counted.query.sql_with_params()
    if len(params) != 1:  # the recipient is the statement's only parameter
        raise ImproperlyConfigured(f"unexpected parameters in the unread-count statement: {params!r}")
    return str(sql)


def notification_last_seq(*, user_id: Any) -> int:
    """The newest seq handed out to the user (0 before the first notification)."""
    last = NotificationCounter.objects.filter(user_id=user_id).values_list("last_seq", flat=True).first()
    return int(last or 0)


def notification_after(*, user_id: Any, after_seq: int, limit: int, up_to_seq: int | None = None) -> list[Notification]:
    """The user's notifications with `after_seq < seq [<= up_to_seq]`, oldest first, at most `limit`."""
    queryset = Notification.objects.filter(recipient_id=user_id, seq__gt=after_seq)
    if up_to_seq is not None:
        queryset = queryset.filter(seq__lte=up_to_seq)
    return list(queryset.order_by("seq")[:limit])
