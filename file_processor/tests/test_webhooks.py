"""Completion webhooks: signed (Standard Webhooks) and verified by a real receiver, retried with a stable
`webhook-id`, one attempt row per try, and every callback URL through the one SSRF guard."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from file_processor.models import ConversionJob, WebhookDelivery
from file_processor.services import webhook_secret_for

from .conftest import problem
from .samples import CSV_TEXT

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP receiver that verifies each delivery with the `standardwebhooks` package."""

    def __init__(self, secret: str, statuses: list[int], extra_headers: dict[str, str] | None = None) -> None:
        self.secret = secret
        self.statuses = list(statuses)
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except Exception:
                    payload, verified = None, False
                receiver.received.append({"headers": headers, "payload": payload, "verified": verified})
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                for name, value in (extra_headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/files"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def allow_loopback(settings):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


@pytest.fixture
def convert_with_callback(upload, auth_client, django_capture_on_commit_callbacks):
    def run(callback_url: str, expect: int = 202):
        source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
        with django_capture_on_commit_callbacks(execute=True):
            response = auth_client.post(
                "/api/v1/files/convert",
                {"file_id": source["id"], "target_format": "json", "callback_url": callback_url},
                format="json",
            )
        assert response.status_code == expect, response.content
        return response

    return run


def test_completion_webhook_verifies_with_the_users_secret(allow_loopback, convert_with_callback, user, auth_client):
    secret = auth_client.get("/api/v1/files/webhooks/secret").json()["secret"]
    assert secret == webhook_secret_for(user_id=user.pk)
    with Receiver(secret, [204]) as receiver:
        job_id = convert_with_callback(receiver.url).json()["id"]
    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    assert delivery["verified"]
    assert delivery["headers"]["webhook-id"] == str(WebhookDelivery.objects.get().pk)
    assert delivery["payload"]["type"] == "conversion.succeeded"
    assert delivery["payload"]["data"]["id"] == job_id
    assert delivery["payload"]["data"]["status"] == "succeeded"
    assert delivery["payload"]["timestamp"].endswith("Z") and delivery["payload"]["data"]["finished_at"].endswith("Z")
    row = WebhookDelivery.objects.get()
    assert row.status == "succeeded" and row.attempts_made.get().status_code == 204


def test_failed_deliveries_are_retried_with_the_same_webhook_id(allow_loopback, convert_with_callback, user):
    with Receiver(webhook_secret_for(user_id=user.pk), [500, 503, 200]) as receiver:
        convert_with_callback(receiver.url)  # eager: the retries run at once
    ids = {item["headers"]["webhook-id"] for item in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1
    assert all(item["verified"] for item in receiver.received)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert list(delivery.attempts_made.order_by("number").values_list("status_code", flat=True)) == [500, 503, 200]


def test_gone_receiver_stops_retries_at_once(allow_loopback, convert_with_callback, user):
    with Receiver(webhook_secret_for(user_id=user.pk), [410]) as receiver:
        convert_with_callback(receiver.url)
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().status == "failed"


def test_deliveries_stop_after_max_attempts(allow_loopback, convert_with_callback, user, settings):
    settings.FILES_WEBHOOK_MAX_ATTEMPTS = 3
    with Receiver(webhook_secret_for(user_id=user.pk), [500] * 10) as receiver:
        convert_with_callback(receiver.url)
    assert len(receiver.received) == 3
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts_made.count() == 3


def test_redirects_are_not_followed(allow_loopback, convert_with_callback, user, settings):
    settings.FILES_WEBHOOK_MAX_ATTEMPTS = 1
    secret = webhook_secret_for(user_id=user.pk)
    with Receiver(secret, [302], {"Location": "http://127.0.0.2:9/internal"}) as receiver:
        convert_with_callback(receiver.url)
    assert len(receiver.received) == 1
    attempt = WebhookDelivery.objects.get().attempts_made.get()
    assert attempt.status_code == 302 and attempt.error_code == "http_status"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://0x7f000001/hook",
        "http://2130706433/hook",
        "http://localhost/hook",  # a DNS name that resolves to loopback
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "gopher://example.com/",
    ],
)
def test_ssrf_callback_urls_are_refused_before_anything_is_queued(convert_with_callback, url):
    response = convert_with_callback(url, expect=422)
    assert problem(response)["code"].startswith("url_")
    assert not ConversionJob.objects.exists()


def test_a_callback_that_turns_private_later_is_blocked_at_delivery(
    allow_loopback, upload, auth_client, settings, user, django_capture_on_commit_callbacks
):
    """The URL passed the check when the job was queued; each delivery is checked again (DNS may change)."""
    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    with (
        Receiver(webhook_secret_for(user_id=user.pk), []) as receiver,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = auth_client.post(
            "/api/v1/files/convert",
            {"file_id": source["id"], "target_format": "json", "callback_url": receiver.url},
            format="json",
        )
        assert response.status_code == 202
        settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = []  # before the job (and its delivery) runs
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.attempts_made.get().error_code.startswith("url_")


def test_webhook_payload_is_json_with_the_job(allow_loopback, convert_with_callback, user):
    with Receiver(webhook_secret_for(user_id=user.pk), [200]) as receiver:
        convert_with_callback(receiver.url)
    payload = receiver.received[0]["payload"]
    assert json.loads(json.dumps(payload))["data"]["download_url"].startswith("/api/v1/files/")
