"""Reads of the File Processor API. Another user's file or job is simply not found (404)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from common.errors import NotFound

from .models import ConversionJob, StoredFile


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def file_list(*, user: Any) -> QuerySet[StoredFile]:
    return StoredFile.objects.filter(owner=user)


def file_get(*, user: Any, file_id: Any) -> StoredFile:
    pk = _uuid(file_id)
    stored = StoredFile.objects.filter(pk=pk, owner=user).first() if pk else None
    if stored is None:
        raise NotFound("No such file.", code="file_not_found")
    return stored


def job_get(*, user: Any, job_id: Any) -> ConversionJob:
    pk = _uuid(job_id)
    job = ConversionJob.objects.select_related("output").filter(pk=pk, owner=user).first() if pk else None
    if job is None:
        raise NotFound("No such conversion job.", code="job_not_found")
    return job


def job_latest_for_file(*, user: Any, file_id: Any) -> ConversionJob:
    stored = file_get(user=user, file_id=file_id)
    job = (
        ConversionJob.objects.select_related("output")
        .filter(source=stored, owner=user)
        .order_by("-created_at", "-id")
        .first()
    )
    if job is None:
        raise NotFound("This file has no conversion job yet.", code="job_not_found")
    return job
