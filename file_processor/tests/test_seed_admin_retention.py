"""Seed, admin pages, retention and the signed inbound trigger."""

from __future__ import annotations

import io
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from standardwebhooks import Webhook

from auth_app.services import api_key_create
from file_processor.models import ConversionJob, StoredFile
from file_processor.services import files_expire, files_incoming_sweep
from file_processor.uploads import INCOMING

from .conftest import problem
from .samples import CSV_TEXT

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_leaves_finished_jobs(settings):
    settings.SEED_DEMO_USERS = True
    call_command("seed", stdout=io.StringIO())
    call_command("seed", stdout=io.StringIO())
    demo_files = StoredFile.objects.filter(owner__email="demo@example.com", metadata__seed=True)
    assert demo_files.count() == 3
    jobs = ConversionJob.objects.filter(owner__email="demo@example.com")
    assert jobs.count() == 3 and set(jobs.values_list("status", flat=True)) == {"succeeded"}


def test_admin_pages_render(upload, staff_user, client, django_capture_on_commit_callbacks, auth_client):
    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    with django_capture_on_commit_callbacks(execute=True):
        auth_client.post("/api/v1/files/convert", {"file_id": source["id"], "target_format": "json"}, format="json")
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    for name in ("storedfile", "conversionjob", "webhookdelivery", "directuploadtoken"):
        assert client.get(f"/admin/file_processor/{name}/").status_code == 200
        assert client.get(f"/admin/file_processor/{name}/add/").status_code == 403
    job = ConversionJob.objects.get()
    assert client.get(f"/admin/file_processor/conversionjob/{job.pk}/change/").status_code == 200


def test_retention_deletes_expired_files_and_their_bytes(upload, stored_keys, django_capture_on_commit_callbacks):
    old = upload(CSV_TEXT.encode(), name="old.csv", content_type="text/csv").json()
    fresh = upload(CSV_TEXT.encode(), name="new.csv", content_type="text/csv").json()
    StoredFile.objects.filter(pk=old["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert files_expire() == 1
    assert list(StoredFile.objects.values_list("id", flat=True)) == [fresh["id"]] or StoredFile.objects.count() == 1
    assert len(stored_keys()) == 1
    assert StoredFile.objects.get().storage_key == stored_keys()[0]


def test_retention_period_comes_from_the_setting(upload, settings):
    settings.FILES_RETENTION_SECONDS = 60
    body = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    stored = StoredFile.objects.get(pk=body["id"])
    assert timedelta(seconds=55) < stored.expires_at - stored.created_at <= timedelta(seconds=61)


def _signed(secret: str, body: dict, msg_id: str = "msg_1") -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body)
    now = timezone.now()
    signature = Webhook(secret).sign(msg_id, now, raw)
    headers = {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(now.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }
    return raw.encode(), headers


def test_inbound_trigger_needs_api_key_and_signature_and_is_idempotent(
    upload, auth_client, api_client, user, django_capture_on_commit_callbacks
):
    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    secret = auth_client.get("/api/v1/files/webhooks/secret").json()["secret"]
    assert secret.startswith("whsec_")
    _key, raw_key = api_key_create(user=user, name="automation")
    body, headers = _signed(secret, {"file_id": source["id"], "target_format": "json"})
    url = "/api/v1/files/webhooks/convert"

    unsigned = api_client.post(url, body, content_type="application/json", HTTP_X_API_KEY=raw_key)
    assert unsigned.status_code == 401 and problem(unsigned)["code"] == "invalid_signature"
    keyless = api_client.post(url, body, content_type="application/json", **headers)
    assert keyless.status_code == 401
    tampered = api_client.post(
        url, body.replace(b"json", b"xlsx"), content_type="application/json", HTTP_X_API_KEY=raw_key, **headers
    )
    assert tampered.status_code == 401
    bearer = auth_client.post(url, body, content_type="application/json", **headers)  # a JWT is not enough
    assert bearer.status_code == 401

    with django_capture_on_commit_callbacks(execute=True):
        first = api_client.post(url, body, content_type="application/json", HTTP_X_API_KEY=raw_key, **headers)
    assert first.status_code == 202, first.content
    again = api_client.post(url, body, content_type="application/json", HTTP_X_API_KEY=raw_key, **headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert ConversionJob.objects.get().status == "succeeded"


def test_inbound_trigger_signed_by_another_users_secret_is_401(upload, api_client, user, other_user):
    from file_processor.services import webhook_secret_for

    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    _key, raw_key = api_key_create(user=user, name="automation")
    body, headers = _signed(
        webhook_secret_for(user_id=other_user.pk), {"file_id": source["id"], "target_format": "json"}
    )
    response = api_client.post(
        "/api/v1/files/webhooks/convert", body, content_type="application/json", HTTP_X_API_KEY=raw_key, **headers
    )
    assert response.status_code == 401


def test_tasks_are_late_acked_time_limited_and_retention_is_scheduled(settings):
    from file_processor import tasks

    for task in (tasks.conversion_run_task, tasks.webhook_deliver_task):
        assert task.acks_late and task.reject_on_worker_lost
        assert task.soft_time_limit is not None and task.time_limit is not None
        assert task.soft_time_limit < task.time_limit
    assert tasks.conversion_run_task.time_limit == settings.FILES_CONVERSION_TIME_LIMIT
    # The lease that lets another worker take over must outlast the task's hard limit.
    assert settings.JOBS_LEASE_SECONDS > settings.FILES_CONVERSION_TIME_LIMIT
    entry = settings.CELERY_BEAT_SCHEDULE["files-retention"]
    assert entry["task"] == "file_processor.tasks.files_expire_task"
    assert tasks.files_expire_task.delay().get() == 0


def _leftover(folder: Path, name: str, *, age_seconds: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"partial upload")
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_retention_deletes_upload_files_a_dead_process_left_behind(settings):
    incoming = Path(settings.MEDIA_ROOT) / INCOMING
    abandoned = _leftover(incoming, "tmpa.upload", age_seconds=settings.FILES_INCOMING_MAX_AGE_SECONDS + 60)
    arriving = _leftover(incoming, "tmpb.upload", age_seconds=settings.FILES_INCOMING_MAX_AGE_SECONDS - 60)
    other = _leftover(incoming, "notes.txt", age_seconds=settings.FILES_INCOMING_MAX_AGE_SECONDS + 60)

    files_expire()

    assert not abandoned.exists()
    assert arriving.exists() and other.exists()


def test_the_sweep_never_touches_a_temp_dir_the_operator_named(settings, tmp_path):
    shared = tmp_path / "shared-tmp"
    settings.FILE_UPLOAD_TEMP_DIR = str(shared)
    theirs = _leftover(shared, "someone-elses.upload", age_seconds=10 * settings.FILES_INCOMING_MAX_AGE_SECONDS)
    ours = _leftover(
        Path(settings.MEDIA_ROOT) / INCOMING, "x.upload", age_seconds=10 * settings.FILES_INCOMING_MAX_AGE_SECONDS
    )
    assert files_incoming_sweep() == 0
    assert theirs.exists() and ours.exists()
