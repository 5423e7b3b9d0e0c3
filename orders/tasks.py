"""Celery tasks of the Orders API: load by id, call one service.

`stripe_event_process_task` is the row-first pattern of common/jobs.py: `job_claim` decides who
processes an event (a duplicate message finds nothing to do); a failure goes back to `queued` with an
exponential, jittered delay and is queued again with that countdown, until ORDERS_WEBHOOK_MAX_ATTEMPTS,
after which the event is `failed` with the error (an operator retries it from the API, the admin or
`manage.py orders_replay_webhooks`).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from common.jobs import job_claim, job_enqueue, job_fail, job_succeed, retry_delay

from . import services
from .models import StripeEvent

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def stripe_event_process_task(event_pk: str) -> str | None:
    event = job_claim(StripeEvent, event_pk)
    if event is None:
        return None
    try:
        applied = services.stripe_event_apply(event=event)
    except Exception as exc:
        logger.exception("stripe event %s failed (attempt %d)", event.event_id, event.attempts)
        last = event.attempts >= settings.ORDERS_WEBHOOK_MAX_ATTEMPTS
        delay = (
            None
            if last
            else retry_delay(
                event.attempts,
                base=settings.ORDERS_WEBHOOK_RETRY_BASE_SECONDS,
                maximum=settings.ORDERS_WEBHOOK_RETRY_MAX_SECONDS,
            )
        )
        job_fail(event, code=type(exc).__name__, message=str(exc) or repr(exc), retry_in=delay)
        if delay is not None:
            job_enqueue(event, countdown=delay)
        return "failed" if last else "retrying"
    job_succeed(
        event,
        outcome=applied.outcome,
        outcome_detail=applied.detail[:255],
        order=applied.order if applied.order is not None else event.order,
    )
    return applied.outcome


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def idempotency_keys_purge_task() -> int:
    return services.idempotency_keys_purge()
