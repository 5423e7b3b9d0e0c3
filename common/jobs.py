"""Work that must happen: a row first, a task by id after commit, and a sweeper for what the broker lost.

The one idiom every app uses to run something in Celery (Stripe events, conversions, replays, mails):

1. A service writes a row of a model that extends `QueuedJob` (status `queued`) in its transaction,
   and calls `job_enqueue(job)`: the row's task is queued with the row's id once the transaction
   commits. A broker that is down at that moment is logged, not raised: the row is the record.
2. The task (thin: `tasks.py`) calls `job_claim(Model, pk)`: one atomic UPDATE moves the row from
   `queued` to `processing` (or takes over a `processing` row whose worker died past its lease), so a
   duplicate delivery or a second worker finds nothing to do. It then calls the app's service and
   ends with `job_succeed` or `job_fail` (back to `queued` with a due time when it will be retried).
3. `jobs_sweep` (a periodic task, `JOBS_SWEEP_INTERVAL_SECONDS`) re-queues rows that stayed `queued`
   `JOBS_SWEEP_AFTER_SECONDS` past their due time and `processing` rows past their lease.

`enqueue_after_commit` is also the helper for fire-and-forget tasks that need no row.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class JobStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    PROCESSING = "processing", "processing"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"


class QueuedJob(models.Model):
    """Abstract base of a row-first job. A subclass names its task in `job_task` (a dotted path to a
    Celery task taking the row's primary key as a string) and should index `(status, due_at)`."""

    job_task: ClassVar[str] = ""

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # When the job should (next) run: now when queued, later when a retry is scheduled.
    due_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")

    class Meta:
        abstract = True


J = TypeVar("J", bound=QueuedJob)


def enqueue_after_commit(task: Any, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Queue `task(*args, **kwargs)` once the current transaction commits (at once outside one).

    A failure to reach the broker (or, in eager mode, the task's own failure) is logged and never
    reaches the caller, whose transaction has already committed. Work that must not be lost is a
    `QueuedJob` row, which the sweeper re-queues.
    """

    def send() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs, countdown=countdown)
        except Exception:
            logger.exception("jobs: could not queue %s", getattr(task, "name", task))

    transaction.on_commit(send)


def _task_of(model: type[QueuedJob]) -> Any:
    if not model.job_task:
        raise TypeError(f"{model.__name__} extends QueuedJob but names no job_task")
    return import_string(model.job_task)


def job_enqueue(job: QueuedJob, *, countdown: float | None = None) -> None:
    """Queue the job's task with its id after commit (the row must already be saved in this transaction)."""
    enqueue_after_commit(_task_of(type(job)), str(job.pk), countdown=countdown)


def _lease() -> timedelta:
    return timedelta(seconds=float(settings.JOBS_LEASE_SECONDS))


def job_claim(model: type[J], pk: Any) -> J | None:
    """Take the job for this worker, or None when it is not (or no longer) waiting to run.

    One UPDATE decides: a `queued` row, or a `processing` row whose lease ran out (its worker died
    with the message unacknowledged and the broker redelivered it). `attempts` counts every claim.
    """
    now = timezone.now()
    waiting = Q(status=JobStatus.QUEUED) | Q(status=JobStatus.PROCESSING, started_at__lt=now - _lease())
    claimed = (
        model._default_manager.filter(pk=pk)
        .filter(waiting)
        .update(status=JobStatus.PROCESSING, started_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return model._default_manager.get(pk=pk)


def job_succeed(job: QueuedJob, **fields: Any) -> bool:
    """Mark a claimed job done (with any of the subclass's own `fields`); False if it was not ours any more."""
    now = timezone.now()
    done = (
        type(job)
        ._default_manager.filter(pk=job.pk, status=JobStatus.PROCESSING)
        .update(status=JobStatus.SUCCEEDED, finished_at=now, error_code="", error_message="", **fields)
    )
    if done:
        job.refresh_from_db()
    return bool(done)


def job_fail(job: QueuedJob, *, code: str, message: str, retry_in: float | None = None, **fields: Any) -> bool:
    """Record a failure: `queued` again, due in `retry_in` seconds, or `failed` for good without it."""
    now = timezone.now()
    update: dict[str, Any] = {"error_code": code[:64], "error_message": message[:4000], **fields}
    if retry_in is None:
        update.update(status=JobStatus.FAILED, finished_at=now)
    else:
        update.update(status=JobStatus.QUEUED, due_at=now + timedelta(seconds=retry_in))
    done = type(job)._default_manager.filter(pk=job.pk, status=JobStatus.PROCESSING).update(**update)
    if done:
        job.refresh_from_db()
    return bool(done)


def job_requeue(job: QueuedJob) -> bool:
    """An operator's retry of a finished or failed job: back to `queued`, queued after commit."""
    now = timezone.now()
    done = (
        type(job)
        ._default_manager.filter(pk=job.pk)
        .exclude(status=JobStatus.PROCESSING)
        .update(status=JobStatus.QUEUED, due_at=now, finished_at=None, error_code="", error_message="")
    )
    if done:
        job.refresh_from_db()
        job_enqueue(job)
    return bool(done)


def retry_delay(attempt: int, *, base: float, maximum: float) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): exponential, capped, with "equal jitter".

    The uncapped delay doubles from `base`; the result lies in [delay/2, delay], so retries of many
    jobs that failed together spread out, and never exceeds `maximum` (keep it under the broker's
    visibility timeout, or Redis redelivers a message that is merely waiting).
    """
    delay = min(maximum, base * 2 ** max(0, attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - spreading load, not a secret


def job_models() -> list[type[QueuedJob]]:
    """Every concrete model that extends QueuedJob, from the app registry (common imports no app)."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, QueuedJob) and not model._meta.abstract and model.job_task
    ]


def jobs_sweep(*, now: Any = None) -> int:
    """Re-queue jobs the broker lost: `queued` past due by JOBS_SWEEP_AFTER_SECONDS, `processing` past
    their lease. Returns how many were queued; stops early (and says so) while the broker is down."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=float(settings.JOBS_SWEEP_AFTER_SECONDS))
    batch = int(settings.JOBS_SWEEP_BATCH_SIZE)
    queued = 0
    for model in job_models():
        stale = Q(status=JobStatus.QUEUED, due_at__lt=overdue) | Q(
            status=JobStatus.PROCESSING, started_at__lt=now - _lease()
        )
        task = _task_of(model)
        for pk in model._default_manager.filter(stale).order_by("due_at").values_list("pk", flat=True)[:batch]:
            # Pushed forward first, so the next sweep does not send it again while this one is in flight.
            model._default_manager.filter(pk=pk, status=JobStatus.QUEUED).update(due_at=now)
            try:
                task.apply_async(args=(str(pk),))
            except Exception:
                logger.warning("jobs: the broker is unreachable; %s sweep stopped", model.__name__, exc_info=True)
                return queued
            queued += 1
    if queued:
        logger.info("jobs: re-queued %d job(s)", queued)
    return queued
