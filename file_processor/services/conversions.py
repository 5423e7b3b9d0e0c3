"""Conversion jobs: start one (a row first, queued after commit), run one (the task's body), report progress.

The run claims the row atomically (`common.jobs.job_claim`), so a duplicate delivery does nothing.
Permanent failures (`ConversionFailed`: corrupt input, bombs, unsupported structure) fail the job at
once; anything else (storage or database trouble) is retried with `retry_delay`'s backoff until
FILES_CONVERSION_MAX_ATTEMPTS claims have been made. Every change is pushed to the owner as an
ephemeral `file.conversion.*` event; the end is also a stored notification and, with a
`callback_url`, a Standard Webhooks delivery.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from pathlib import PurePosixPath
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from common.jobs import JobStatus, job_claim, job_enqueue, job_fail, job_succeed, retry_delay
from common.serialization import format_datetime
from notifications.services import notification_event_publish, notification_send

from ..converters import ConversionFailed, converter_for, options_validate
from ..models import ConversionJob
from ..selectors import file_get
from .files import file_store_output
from .webhooks import callback_url_check, webhook_enqueue

logger = logging.getLogger(__name__)

EXTENSIONS = {"jpeg": "jpg"}


def job_payload(job: ConversionJob) -> dict[str, Any]:
    """The job as the API, the live events and the webhook show it (one shape everywhere)."""
    return {
        "id": str(job.pk),
        "file_id": str(job.source_id),
        "target_format": job.target_format,
        "options": job.options,
        "status": job.status,
        "progress": job.progress,
        "attempts": job.attempts,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "output_file_id": str(job.output_id) if job.output_id else None,
        "download_url": f"/api/v1/files/{job.output_id}/download" if job.output_id else None,
        "callback_url": job.callback_url or None,
        "created_at": format_datetime(job.created_at) if job.created_at else None,
        "started_at": format_datetime(job.started_at) if job.started_at else None,
        "finished_at": format_datetime(job.finished_at) if job.finished_at else None,
    }


def _publish(job: ConversionJob, event: str) -> None:
    try:
        notification_event_publish(user_id=job.owner_id, event=f"file.conversion.{event}", data=job_payload(job))
    except Exception:  # live progress is best effort; the row is the record
        logger.warning("files: could not publish %s for job %s", event, job.pk, exc_info=True)


@transaction.atomic
def conversion_start(
    *, user: Any, file_id: Any, target_format: str, options: Any = None, callback_url: str = ""
) -> ConversionJob:
    """Validate the pair, its options and the callback URL, then queue the job (202)."""
    source = file_get(user=user, file_id=file_id)
    converter = converter_for(source.mime_type, target_format)
    clean = options_validate(converter.options, options)
    if callback_url:
        callback_url_check(callback_url)
    job = ConversionJob.objects.create(
        owner=user,
        source=source,
        target_format=converter.target,
        options=clean,
        callback_url=callback_url or "",
    )
    _publish(job, "queued")  # registered first, so it goes out before anything the task publishes
    job_enqueue(job)
    return job


class _ProgressReporter:
    """Writes progress to the row (and pushes it) only when it moved by at least 5 points."""

    def __init__(self, job: ConversionJob) -> None:
        self.job = job
        self.last = job.progress

    def __call__(self, value: int) -> None:
        value = max(0, min(99, int(value)))
        if value < self.last + 5:
            return
        self.last = value
        ConversionJob.objects.filter(pk=self.job.pk, status=JobStatus.PROCESSING).update(progress=value)
        self.job.progress = value
        _publish(self.job, "progress")


def _output_name(source_name: str, target: str) -> str:
    stem = PurePosixPath(source_name).stem or "file"
    return f"{stem}.{EXTENSIONS.get(target, target)}"


def conversion_run(*, job_id: Any) -> str:
    """Run a queued job to its end (or to its next retry). Returns the job's status afterwards.

    Safe to call twice: only the caller whose claim succeeds does the work.
    """
    job = job_claim(ConversionJob, job_id)
    if job is None:
        return "skipped"
    if job.attempts > int(settings.FILES_CONVERSION_MAX_ATTEMPTS):
        # Claimed again after its worker died (hard time limit, OOM kill) more often than allowed:
        # an input that kills workers must not be retried forever by the sweeper.
        _finish_failed(job, "attempts_exhausted", f"Gave up after {job.attempts - 1} attempts that did not finish.")
        return job.status
    job.progress = 0
    ConversionJob.objects.filter(pk=job.pk).update(progress=0)
    _publish(job, "processing")
    try:
        output_id = _convert(job)
    except ConversionFailed as exc:
        _finish_failed(job, exc.code, exc.message)
    except SoftTimeLimitExceeded:
        _finish_failed(job, "time_limit", "The conversion took longer than its time limit.")
    except Exception as exc:
        logger.warning("files: job %s attempt %s failed", job.pk, job.attempts, exc_info=True)
        _retry_or_fail(job, exc)
    else:
        if job_succeed(job, progress=100, output_id=output_id):
            _finish_notify(job, succeeded=True)
    return job.status


def _convert(job: ConversionJob) -> uuid.UUID:
    source = job.source
    converter = converter_for(source.mime_type, job.target_format)
    report = _ProgressReporter(job)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as dst:
        with default_storage.open(source.storage_key, "rb") as src:
            metadata = converter.run(src, dst, dict(job.options), report)
        size = dst.tell()
        dst.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: dst.read(1024 * 1024), b""):
            digest.update(chunk)
        dst.seek(0)
        output = file_store_output(
            owner=source.owner,
            fp=dst,
            size=size,
            sha256=digest.hexdigest(),
            name=_output_name(source.original_name, converter.target),
            mime_type=converter.output_mime,
            metadata={**metadata, "source_file_id": str(source.pk), "job_id": str(job.pk)},
        )
    return output.pk


def _retry_or_fail(job: ConversionJob, exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}"[:500]
    if job.attempts >= int(settings.FILES_CONVERSION_MAX_ATTEMPTS):
        _finish_failed(job, "attempts_exhausted", f"Gave up after {job.attempts} attempts; last error: {message}")
        return
    delay = retry_delay(job.attempts, base=settings.FILES_RETRY_BASE_SECONDS, maximum=settings.FILES_RETRY_MAX_SECONDS)
    if job_fail(job, code="transient_error", message=message, retry_in=delay):
        job_enqueue(job, countdown=delay)
        _publish(job, "retrying")


def _finish_failed(job: ConversionJob, code: str, message: str) -> None:
    if job_fail(job, code=code, message=message):
        _finish_notify(job, succeeded=False)


def _finish_notify(job: ConversionJob, *, succeeded: bool) -> None:
    """The end of a job: live event, stored notification (deduplicated by job) and the webhook row."""
    job.refresh_from_db()
    payload = job_payload(job)
    _publish(job, "succeeded" if succeeded else "failed")
    name = job.source.original_name
    try:
        notification_send(
            user_id=job.owner_id,
            kind="file.converted" if succeeded else "file.conversion_failed",
            title=f"{name} converted to {job.target_format}" if succeeded else f"Converting {name} failed",
            body="" if succeeded else job.error_message[:500],
            data={"job_id": str(job.pk), "file_id": str(job.source_id), "output_file_id": payload["output_file_id"]},
            dedupe_key=job.pk,
        )
    except Exception:
        logger.warning("files: could not notify the owner of job %s", job.pk, exc_info=True)
    if job.callback_url:
        webhook_enqueue(job=job, event_type="conversion.succeeded" if succeeded else "conversion.failed", data=payload)
