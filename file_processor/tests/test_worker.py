"""A real Celery worker (`celery -A config worker -P solo`) against Redis and the test database.

Skipped in the embedded mode (no broker to share). The second test kills the worker with SIGKILL in
the middle of a job: the row stays `processing`, the sweeper leaves it alone within its lease and
re-queues it once the lease is over (the test moves `started_at` back instead of waiting six minutes),
and the other worker finishes it (attempt 2) instead of leaving it stuck.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from common.jobs import jobs_sweep
from file_processor.models import ConversionJob

from .samples import image_bytes

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _needs_services(settings):
    if settings.EMBEDDED_REDIS or settings.EMBEDDED_DATABASE:
        pytest.skip("needs PostgreSQL and Redis (a worker process must share the broker and database)")


@pytest.fixture
def broker_not_eager():
    """Send tasks to the broker from this process for the test's duration."""
    from config.celery import app

    app.conf.task_always_eager = False
    app.control.purge()
    yield app
    app.conf.task_always_eager = True


class Worker:
    def __init__(self, settings, name: str = "w", wait: bool = True) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DJANGO_READ_DOT_ENV": "false",
            "LOG_FORMAT": "text",
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "INFO"]
        command += [
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"files-test-{os.getpid()}-{name}@%h",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        if not self._ready.wait(timeout=30):
            self.stop()
            raise AssertionError("the worker did not start:\n" + "".join(self.lines[-40:]))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if " ready." in line:
                self._ready.set()

    def received(self) -> bool:
        return any("conversion_run_task" in line and "received" in line for line in self.lines)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _database_url() -> str:
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_conversion_runs_in_a_real_worker(settings, auth_client, upload, broker_not_eager):
    source = upload(image_bytes("JPEG", (640, 480)), name="p.jpg", content_type="image/jpeg").json()
    worker = Worker(settings)
    try:
        response = auth_client.post(
            "/api/v1/files/convert",
            {"file_id": source["id"], "target_format": "webp", "options": {"width": 64}},
            format="json",
        )
        assert response.status_code == 202
        job_id = response.json()["id"]
        done = _wait_for(
            lambda: ConversionJob.objects.filter(pk=job_id, status__in=["succeeded", "failed"]).first(), 30, "the job"
        )
        assert done.status == "succeeded", (done.error_code, done.error_message, "".join(worker.lines[-30:]))
        assert done.attempts == 1 and done.progress == 100
        status = auth_client.get(f"/api/v1/files/{source['id']}/status").json()
        assert status["status"] == "succeeded"
    finally:
        worker.stop()


def test_a_job_whose_worker_was_killed_is_finished_by_another(settings, auth_client, upload, broker_not_eager):
    pages = "\n\n".join(f"# Part {n}\n\n" + "All work and no play. " * 150 for n in range(4))
    source = upload(pages.encode(), name="long.md", content_type="text/markdown").json()
    workers = [Worker(settings, name=name, wait=False) for name in ("a", "b")]
    try:
        for worker in workers:
            worker.wait_ready()
        response = auth_client.post(
            "/api/v1/files/convert", {"file_id": source["id"], "target_format": "pdf"}, format="json"
        )
        job_id = response.json()["id"]
        _wait_for(lambda: ConversionJob.objects.filter(pk=job_id, status="processing").exists(), 30, "processing")
        busy = _wait_for(lambda: next((w for w in workers if w.received()), None), 10, "the worker that took it")
        busy.kill()
        stuck = ConversionJob.objects.get(pk=job_id)
        assert stuck.status == "processing" and stuck.attempts == 1 and stuck.started_at is not None
        assert jobs_sweep() == 0  # within its lease the job is left alone (its worker may be alive)
        # Let the lease run out (JOBS_LEASE_SECONDS, 6 minutes by default) without waiting for it.
        ConversionJob.objects.filter(pk=job_id).update(
            started_at=stuck.started_at - timedelta(seconds=settings.JOBS_LEASE_SECONDS + 1)
        )
        assert jobs_sweep() == 1
        done = _wait_for(
            lambda: ConversionJob.objects.filter(pk=job_id, status__in=["succeeded", "failed"]).first(), 60, "the job"
        )
        assert done.status == "succeeded", (done.error_code, done.error_message)
        assert done.attempts == 2 and done.output_id
    finally:
        for worker in workers:
            worker.stop()
