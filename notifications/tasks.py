"""Celery tasks of the Notifications API: thin wrappers that call one service each.

Both are safe to run twice (a redelivery after a worker crash, `acks_late`, or a retry): every row
they write carries a dedupe key, unique per recipient, so a second run writes nothing new.
"""

from typing import Any

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(
    acks_late=True,
    time_limit=60,
    soft_time_limit=45,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def notification_send_task(
    user_id: str,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> str:
    """Send one notification from a worker; returns its id. Queue it with `delay_on_commit`.

    Pass a `dedupe_key` (a UUID string chosen when queueing) to make a retried run write nothing twice.
    """
    notification = services.notification_send(
        user_id=user_id, kind=kind, title=title, body=body, data=data, dedupe_key=dedupe_key
    )
    return str(notification.pk)


@shared_task(
    acks_late=True,
    time_limit=1800,
    soft_time_limit=1700,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def notification_broadcast_task(
    kind: str, title: str, body: str = "", data: dict[str, Any] | None = None, broadcast_id: str | None = None
) -> int:
    """Broadcast to every active user in batches. A re-run with the same `broadcast_id` resumes: users
    who already have it are skipped. Returns how many notifications this run wrote."""
    return services.notification_broadcast(kind=kind, title=title, body=body, data=data, broadcast_id=broadcast_id)
