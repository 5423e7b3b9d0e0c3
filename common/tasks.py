"""Celery tasks of the platform itself."""

from celery import shared_task

from .jobs import jobs_sweep


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100, max_retries=0)
def jobs_sweep_task() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): re-queue row-first jobs the broker lost (common.jobs)."""
    return jobs_sweep()
