"""Celery tasks of the File Processor API: load by id, call one service.

Both job tasks are row-first (common.jobs): `acks_late` with a lease, so a worker killed mid-job has
its message redelivered (or the sweeper re-queues the row) and the next claim finishes it.
"""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.FILES_CONVERSION_TIME_LIMIT,
    soft_time_limit=settings.FILES_CONVERSION_SOFT_TIME_LIMIT,
)
def conversion_run_task(job_id: str) -> str:
    return services.conversion_run(job_id=job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=120, soft_time_limit=90)
def webhook_deliver_task(delivery_id: str) -> str:
    return services.webhook_deliver(delivery_id=delivery_id)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def files_expire_task() -> int:
    return services.files_expire()
