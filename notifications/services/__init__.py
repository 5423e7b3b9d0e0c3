"""Writes of the Notifications API: the contract every other app calls.

Persist, then push: each notification row commits first, then `common.channels.group_send_after_commit`
publishes it to the recipient's group (`notifications.user.<id>`). Sequence numbers come from a
per-user counter row whose lock is held until commit, so a user's seqs commit in order with no gaps:
a client that has seen seq N can always fetch N-1 from the database.

`sending` holds one-to-one and one-to-many sends and read marks; `broadcasts` the staff broadcast job.
"""

from __future__ import annotations

import uuid
from typing import Any

from common.errors import PermissionDenied

from ..models import Notification
from .broadcasts import broadcast_create, broadcast_requeue, broadcast_run, notification_broadcast
from .sending import (
    KIND_MAX_CHARS,
    KIND_PATTERN,
    _clean_content,
    _invalid,
    _user_pk,
    notification_mark_all_read,
    notification_mark_read,
    notification_send,
    notification_send_many,
)

__all__ = [
    "KIND_MAX_CHARS",
    "KIND_PATTERN",
    "broadcast_create",
    "broadcast_requeue",
    "broadcast_run",
    "notification_broadcast",
    "notification_create",
    "notification_mark_all_read",
    "notification_mark_read",
    "notification_send",
    "notification_send_many",
]


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
    A broadcast is validated here and becomes a `Broadcast` row whose job runs after commit; returns
    the row's id (also the dedupe key of what it writes). Otherwise returns the stored notification.
    """
    if broadcast:
        if not actor.is_staff:
            raise PermissionDenied("Only staff may broadcast.", code="broadcast_forbidden")
        if user_id is not None:
            raise _invalid("user_id", "Leave out user_id when broadcast is true.")
        return broadcast_create(actor=actor, **_clean_content(kind=kind, title=title, body=body, data=data)).pk
    target = actor.pk if user_id is None else _user_pk(user_id)
    if target != actor.pk and not actor.is_staff:
        raise PermissionDenied("Only staff may notify another user.", code="recipient_forbidden")
    return notification_send(user_id=target, kind=kind, title=title, body=body, data=data)
