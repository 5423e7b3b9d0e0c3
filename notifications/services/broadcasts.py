"""Broadcasts: the same notification to every active user, run as a row-first job (common.jobs).

A staff broadcast is a `Broadcast` row written with the request; its task runs `broadcast_run`, which
claims the row, fans out with `notification_broadcast` (batch by batch, the row's id as every
notification's dedupe key, so a re-run resumes) and records the outcome. A broker that is down at
commit loses nothing: the sweeper queues the row again.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction

from auth_app.selectors import user_active_ids
from common.jobs import job_claim, job_enqueue, job_fail, job_requeue, job_succeed, retry_delay

from ..models import Broadcast, Notification
from .sending import _clean_content, notification_send_many


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
    total = 0
    last_pk: Any = None
    while True:
        pks = user_active_ids(after=last_pk, limit=size)
        if not pks:
            return total
        total += len(notification_send_many(user_ids=pks, dedupe_key=broadcast_id, **content))
        last_pk = pks[-1]


@transaction.atomic
def broadcast_create(*, actor: Any, kind: str, title: str, body: str, data: dict[str, Any]) -> Broadcast:
    """Record a validated broadcast and queue its job for after commit (see `broadcast_run`)."""
    broadcast = Broadcast.objects.create(created_by=actor, kind=kind, title=title, body=body, data=data)
    job_enqueue(broadcast)
    return broadcast


def broadcast_run(*, broadcast_id: Any) -> Broadcast | None:
    """Run a queued broadcast (its task calls this); None when another run has it or it is done.

    Claimed with one UPDATE (common.jobs), so a duplicate delivery does nothing; a re-run after a
    crash resumes, skipping users who already have it (the row's id is the dedupe key). A database
    error is retried NOTIFICATIONS_BROADCAST_MAX_ATTEMPTS times in all, then the row is `failed`.
    """
    job = job_claim(Broadcast, broadcast_id)
    if job is None:
        return None
    try:
        notification_broadcast(kind=job.kind, title=job.title, body=job.body, data=job.data, broadcast_id=job.pk)
    except OperationalError as exc:
        retry_in = None
        if job.attempts < settings.NOTIFICATIONS_BROADCAST_MAX_ATTEMPTS:
            retry_in = retry_delay(
                job.attempts,
                base=settings.NOTIFICATIONS_BROADCAST_RETRY_BASE_SECONDS,
                maximum=settings.NOTIFICATIONS_BROADCAST_RETRY_MAX_SECONDS,
            )
        job_fail(job, code="database_error", message=str(exc), retry_in=retry_in)
        if retry_in is not None:
            job_enqueue(job, countdown=retry_in)
        return job
    job_succeed(job, sent_count=Notification.objects.filter(dedupe_key=job.pk).count())
    return job


def broadcast_requeue(*, broadcast: Broadcast) -> bool:
    """An operator's re-run of a finished or failed broadcast (users who have it are skipped)."""
    return job_requeue(broadcast)
