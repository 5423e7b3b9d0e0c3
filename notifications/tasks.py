"""Celery tasks of the Notifications API: thin wrappers that call one service each.

Both are safe to run twice (a redelivery after a worker crash, `acks_late`, or a retry): every row
they write carries a dedupe key, unique per recipient, so a second run writes nothing new; and a
broadcast is a `Broadcast` row (common.jobs) whose claim lets only one run do the work.
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
    """Send one notification from a worker; returns its id. Queue it with `common.jobs.enqueue_after_commit`.

    Pass a `dedupe_key` (a UUID string chosen when queueing) to make a retried run write nothing twice.
    """
    notification = services.notification_send(
        user_id=user_id, kind=kind, title=title, body=body, data=data, dedupe_key=dedupe_key
    )
    return str(notification.pk)


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700, max_retries=0)
def notification_broadcast_job_task(broadcast_id: str) -> int:
    """Run one `Broadcast` row (common.jobs: claimed once, retried by the service, swept if lost).
    Returns how many notifications it has written in all (0 when another run had it)."""
    broadcast = services.broadcast_run(broadcast_id=broadcast_id)
    return broadcast.sent_count if broadcast is not None else 0
