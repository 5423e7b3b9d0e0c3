"""common.jobs on a concrete QueuedJob (the Broadcast row): claim, lease, fail, requeue, sweep, and a
broker that is down at commit, then back, with a real Celery worker processing what the sweeper re-queued."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from common.jobs import JobStatus, job_claim, job_fail, job_models, job_requeue, job_succeed, jobs_sweep
from notifications import services
from notifications.models import Broadcast, Notification

from .conftest import database_url, services_mode

BASE_DIR = Path(settings.BASE_DIR)


def _broadcast(**fields) -> Broadcast:
    return Broadcast.objects.create(kind="system.message", title="hello", **fields)


@pytest.fixture
def sent(monkeypatch):
    """Records the ids the jobs' task is published with, through the task's own `apply_async`."""
    from notifications.tasks import notification_broadcast_job_task

    published: list[str] = []
    monkeypatch.setattr(
        notification_broadcast_job_task, "apply_async", lambda args=(), **kwargs: published.append(args[0])
    )
    return published


# --- claim, lease, succeed, fail, requeue ----------------------------------------------------------


@pytest.mark.django_db
def test_a_job_is_claimed_once():
    job = _broadcast()
    claimed = job_claim(Broadcast, job.pk)
    assert claimed is not None and (claimed.status, claimed.attempts) == (JobStatus.PROCESSING, 1)
    assert claimed.started_at is not None
    assert job_claim(Broadcast, job.pk) is None  # a duplicate delivery finds nothing to do


@pytest.mark.django_db
def test_a_processing_job_past_its_lease_is_taken_over(settings):
    job = _broadcast()
    assert job_claim(Broadcast, job.pk) is not None
    assert job_claim(Broadcast, job.pk) is None  # within the lease: the first worker is alive
    Broadcast.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.JOBS_LEASE_SECONDS + 1)
    )
    taken = job_claim(Broadcast, job.pk)  # its worker died; the redelivered message takes it over
    assert taken is not None and (taken.status, taken.attempts) == (JobStatus.PROCESSING, 2)
    assert taken.started_at is not None and taken.started_at > timezone.now() - timedelta(seconds=5)
    assert job_claim(Broadcast, job.pk) is None  # and holds it for a fresh lease


@pytest.mark.django_db
def test_succeed_only_a_claimed_job():
    job = _broadcast()
    assert not job_succeed(job)  # never claimed
    claimed = job_claim(Broadcast, job.pk)
    assert claimed is not None and job_succeed(claimed, sent_count=7)
    assert (claimed.status, claimed.sent_count, claimed.finished_at is not None) == (JobStatus.SUCCEEDED, 7, True)
    assert job_claim(Broadcast, job.pk) is None


@pytest.mark.django_db
def test_fail_with_a_retry_is_queued_again_with_a_due_time():
    claimed = job_claim(Broadcast, _broadcast().pk)
    assert claimed is not None
    before = timezone.now()
    assert job_fail(claimed, code="smtp_down", message="x" * 5000, retry_in=30)
    assert claimed.status == JobStatus.QUEUED and claimed.error_code == "smtp_down"
    assert len(claimed.error_message) == 4000
    assert before + timedelta(seconds=29) < claimed.due_at <= timezone.now() + timedelta(seconds=30)
    assert claimed.finished_at is None


@pytest.mark.django_db
def test_fail_without_a_retry_is_failed_for_good():
    claimed = job_claim(Broadcast, _broadcast().pk)
    assert claimed is not None
    assert job_fail(claimed, code="bad_input", message="no")
    assert claimed.status == JobStatus.FAILED and claimed.finished_at is not None
    assert job_claim(Broadcast, claimed.pk) is None
    assert not job_fail(claimed, code="again", message="not ours any more")


@pytest.mark.django_db
def test_requeue_runs_a_failed_job_again_after_commit(sent, django_capture_on_commit_callbacks):
    claimed = job_claim(Broadcast, _broadcast().pk)
    assert claimed is not None and job_fail(claimed, code="bad", message="no")
    with django_capture_on_commit_callbacks(execute=True):
        assert job_requeue(claimed)
    assert claimed.status == JobStatus.QUEUED and claimed.error_code == "" and claimed.finished_at is None
    assert sent == [str(claimed.pk)]


@pytest.mark.django_db
def test_a_processing_job_cannot_be_requeued(sent):
    claimed = job_claim(Broadcast, _broadcast().pk)
    assert claimed is not None and not job_requeue(claimed)
    assert sent == []


# --- the sweeper -------------------------------------------------------------------------------------


def test_the_broadcast_row_is_a_registered_job_model():
    assert Broadcast in job_models()


@pytest.mark.django_db
def test_sweep_requeues_only_overdue_jobs_and_pushes_them_forward(sent, settings):
    now = timezone.now()
    late = now - timedelta(seconds=settings.JOBS_SWEEP_AFTER_SECONDS + 1)
    overdue = _broadcast(due_at=late)
    _broadcast(due_at=now)  # queued just now: its own message is on the way
    _broadcast(due_at=late, status=JobStatus.SUCCEEDED)
    stuck = _broadcast(status=JobStatus.PROCESSING, started_at=now - timedelta(seconds=settings.JOBS_LEASE_SECONDS + 1))
    assert jobs_sweep(now=now) == 2
    assert sorted(sent) == sorted([str(overdue.pk), str(stuck.pk)])
    overdue.refresh_from_db()
    assert overdue.due_at == now  # the next sweep does not send it again at once
    assert jobs_sweep(now=now) == 1  # only the stuck one: its lease is still over


@pytest.mark.django_db
def test_sweep_sends_at_most_a_batch_per_model_oldest_first(sent, settings):
    settings.JOBS_SWEEP_BATCH_SIZE = 2
    now = timezone.now()
    jobs = [_broadcast(due_at=now - timedelta(seconds=settings.JOBS_SWEEP_AFTER_SECONDS + 10 - i)) for i in range(5)]
    assert jobs_sweep(now=now) == 2
    assert sent == [str(jobs[0].pk), str(jobs[1].pk)]
    assert jobs_sweep(now=now) == 2
    assert sent[2:] == [str(jobs[2].pk), str(jobs[3].pk)]


@pytest.mark.django_db
def test_sweep_stops_while_the_broker_is_down(broker_down, caplog, settings):
    late = timezone.now() - timedelta(seconds=settings.JOBS_SWEEP_AFTER_SECONDS + 1)
    _broadcast(due_at=late)
    _broadcast(due_at=late)
    assert jobs_sweep() == 0
    assert "broker is unreachable" in caplog.text
    assert set(Broadcast.objects.values_list("status", flat=True)) == {JobStatus.QUEUED}


# --- the broker down at commit, then back: a real worker processes the swept row ------------------


def _wait_for_status(pk, status: str, deadline: float) -> Broadcast:
    """Poll the row (the worker is another process: nothing to await) until `status` or the deadline."""
    end = time.monotonic() + deadline
    while True:
        row = Broadcast.objects.get(pk=pk)
        if row.status == status or time.monotonic() > end:
            return row
        time.sleep(0.1)


@pytest.mark.services
@pytest.mark.timeout(90)
@pytest.mark.django_db(transaction=True)
def test_a_broadcast_queued_while_the_broker_is_down_is_sent_once_it_is_back(
    celery_broker, staff_user, user, caplog, django_capture_on_commit_callbacks
):
    if not services_mode():
        pytest.skip("needs PostgreSQL and Redis: the worker is another process")
    from conftest import DEAD_BROKER_URL

    celery_broker(DEAD_BROKER_URL)
    broadcast_id = services.notification_create(actor=staff_user, kind="system.message", title="Hi", broadcast=True)
    assert not isinstance(broadcast_id, Notification)
    assert "could not queue notifications.tasks.notification_broadcast_job_task" in caplog.text
    assert Broadcast.objects.get(pk=broadcast_id).status == JobStatus.QUEUED  # the row is the record
    assert not Notification.objects.exists()

    celery_broker(settings.REDIS_URL)  # the broker is back
    later = timezone.now() + timedelta(seconds=settings.JOBS_SWEEP_AFTER_SECONDS + 1)
    assert jobs_sweep(now=later) == 1

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "--loglevel=WARNING",
               "--without-heartbeat", "--without-mingle", "--without-gossip"]  # fmt: skip
    worker = subprocess.Popen(command, cwd=BASE_DIR, env=env, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        row = _wait_for_status(broadcast_id, JobStatus.SUCCEEDED, deadline=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _out, err = worker.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            _out, err = worker.communicate()
    assert row.status == JobStatus.SUCCEEDED, err
    assert (row.attempts, row.sent_count) == (1, 2)
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {staff_user.pk, user.pk}
