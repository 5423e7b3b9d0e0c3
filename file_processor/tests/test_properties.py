"""Properties 14-18 of the seed plan (section 8), as hypothesis tests."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from common.jobs import JobStatus, job_claim, job_fail, job_succeed
from file_processor.converters import registry
from file_processor.models import ConversionJob, StoredFile
from file_processor.services import conversions
from file_processor.services.files import file_store_bytes

from .samples import CSV_TEXT, MARKDOWN_TEXT, image_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

db_property = hsettings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# Text that libmagic reads as plain text (letters, digits, spaces, punctuation that opens no other format).
plain_text = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,;\n"), min_size=0)


@hsettings(db_property, max_examples=30)
@given(body=plain_text, pad=st.integers(min_value=0, max_value=4096), at_limit=st.booleans())
def test_property_14_upload_acceptance(upload, settings, body, pad, at_limit):
    """Any allowed content of any size up to the limit is accepted with its exact SHA-256; one byte over is not."""
    settings.FILES_MAX_UPLOAD_BYTES = 6000
    content = ("Notes " + body + " end\n" + "x" * pad).encode()[:6000]
    if at_limit:
        content = content.ljust(6000, b"y")
    response = upload(content, name="notes.txt", content_type="text/plain")
    assert response.status_code == 201, response.content
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert response.json()["size"] == len(content)
    if at_limit:
        over = upload(content + b"z", name="notes.txt", content_type="text/plain")
        assert over.status_code == 413


SAMPLES = {
    "image/png": (lambda: image_bytes("PNG", (24, 16)), "a.png"),
    "image/jpeg": (lambda: image_bytes("JPEG", (24, 16)), "a.jpg"),
    "image/webp": (lambda: image_bytes("WEBP", (24, 16)), "a.webp"),
    "image/gif": (lambda: image_bytes("GIF", (24, 16)), "a.gif"),
    "image/tiff": (lambda: image_bytes("TIFF", (24, 16)), "a.tiff"),
    "image/bmp": (lambda: image_bytes("BMP", (24, 16)), "a.bmp"),
    "image/avif": (lambda: image_bytes("AVIF", (24, 16)), "a.avif"),
    "text/csv": (lambda: CSV_TEXT.encode(), "a.csv"),
    "application/json": (lambda: b'[{"a": 1}]', "a.json"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (lambda: xlsx_bytes([["a"], [1]]), "a.xlsx"),
    "text/markdown": (lambda: MARKDOWN_TEXT.encode(), "a.md"),
    "text/plain": (lambda: b"plain words only\n", "a.txt"),
    "text/html": (lambda: b"<!doctype html><html><body><p>x</p></body></html>", "a.html"),
}


def _stored(user, mime: str) -> StoredFile:
    make, name = SAMPLES[mime]
    return file_store_bytes(owner=user, content=make(), filename=name)


@hsettings(db_property, max_examples=40)
@given(pair=st.sampled_from(sorted(registry())))
def test_property_15_conversion_queuing(user, django_capture_on_commit_callbacks, pair):
    """Every supported pair queues: 202-shaped job `queued`, progress 0, no attempts, one task after commit."""
    source_type, target = pair
    stored = _stored(user, source_type)
    assert stored.mime_type == source_type
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = conversions.conversion_start(user=user, file_id=stored.pk, target_format=target.upper())
    assert job.status == JobStatus.QUEUED and job.progress == 0 and job.attempts == 0
    assert job.target_format == target and job.output_id is None
    assert len(callbacks) >= 1  # the task is sent only once the transaction commits


EVENTS = st.lists(st.sampled_from(["claim", "progress", "succeed", "fail", "retry", "claim_again"]), max_size=8)


@hsettings(db_property, max_examples=15)
@given(events=EVENTS, progress=st.integers(min_value=0, max_value=100))
def test_property_16_status_consistency(user, auth_client, events, progress):
    """Whatever happens to a job, /jobs/{id} and /{file}/status agree and the fields fit the status."""
    stored = _stored(user, "text/csv")
    job = conversions.conversion_start(user=user, file_id=stored.pk, target_format="json")
    for event in events:
        row = ConversionJob.objects.get(pk=job.pk)
        if event in ("claim", "claim_again"):
            job_claim(ConversionJob, job.pk)
        elif event == "progress" and row.status == JobStatus.PROCESSING:
            ConversionJob.objects.filter(pk=job.pk, status=JobStatus.PROCESSING).update(progress=min(99, progress))
        elif event == "succeed":
            job_succeed(row, progress=100, output_id=stored.pk)
        elif event == "fail":
            job_fail(row, code="corrupt_file", message="bad")
        elif event == "retry":
            job_fail(row, code="transient_error", message="again", retry_in=1.0)
        by_job = auth_client.get(f"/api/v1/files/jobs/{job.pk}").json()
        by_file = auth_client.get(f"/api/v1/files/{stored.pk}/status").json()
        assert by_job == by_file
        assert 0 <= by_job["progress"] <= 100
        if by_job["status"] == "succeeded":
            assert by_job["progress"] == 100 and by_job["output_file_id"] and by_job["finished_at"]
            assert by_job["error"] is None
        elif by_job["status"] == "failed":
            assert by_job["error"]["code"] and by_job["finished_at"] and by_job["output_file_id"] is None
        else:
            assert by_job["output_file_id"] is None and by_job["download_url"] is None
        if by_job["status"] == "processing":
            assert by_job["started_at"] and by_job["attempts"] >= 1


@hsettings(db_property, max_examples=40)
@given(attempt=st.integers(min_value=1, max_value=30))
def test_property_17_retry_backoff(user, settings, django_capture_on_commit_callbacks, attempt):
    """A transient failure schedules the retry within [d/2, d], d = min(cap, base * 2^(n-1)); cap < visibility."""
    settings.FILES_CONVERSION_MAX_ATTEMPTS = 100
    stored = _stored(user, "text/csv")
    job = conversions.conversion_start(user=user, file_id=stored.pk, target_format="json")
    ConversionJob.objects.filter(pk=job.pk).update(attempts=attempt - 1)
    claimed = job_claim(ConversionJob, job.pk)
    assert claimed is not None and claimed.attempts == attempt
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        conversions._retry_or_fail(claimed, OSError("storage hiccup"))
    after = timezone.now()
    row = ConversionJob.objects.get(pk=job.pk)
    assert row.status == JobStatus.QUEUED and row.error_code == "transient_error"
    full = min(settings.FILES_RETRY_MAX_SECONDS, settings.FILES_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    assert before + timedelta(seconds=full / 2) <= row.due_at <= after + timedelta(seconds=full)
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.FILES_RETRY_MAX_SECONDS


# JSON that PostgreSQL jsonb stores exactly: no NUL, no lone surrogates, floats below 1e15 (see notifications).
json_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
    | json_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4),
    max_leaves=12,
)


@hsettings(db_property, max_examples=40)
@given(metadata=st.dictionaries(json_text, json_values, max_size=5))
def test_property_18_file_metadata_round_trip(user, auth_client, metadata):
    """Metadata JSON survives the database and the API unchanged."""
    stored = file_store_bytes(owner=user, content=CSV_TEXT.encode(), filename="a.csv", metadata=metadata)
    assert StoredFile.objects.get(pk=stored.pk).metadata == metadata
    assert auth_client.get(f"/api/v1/files/{stored.pk}").json()["metadata"] == metadata
