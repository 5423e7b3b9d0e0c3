"""Standard Webhooks: completion deliveries out (through common.outbound only) and the signed trigger in.

Each user has one signing secret (`whsec_...`, derived from FILES_WEBHOOK_SIGNING_KEY and the user
id, shown by GET /webhooks/secret). Outgoing: one `WebhookDelivery` row per finished job (its id is
the `webhook-id`, the same on every retry), one `WebhookAttempt` row per HTTP try; 2xx is success,
410 stops for good, anything else is retried with backoff up to FILES_WEBHOOK_MAX_ATTEMPTS. Incoming:
POST /webhooks/convert must carry an API key *and* a Standard Webhooks signature made with the
owner's secret; its `webhook-id` makes a repeated delivery return the job it already started.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from common.jobs import job_claim, job_enqueue, job_fail, job_succeed, retry_delay
from common.serialization import format_datetime, json_dumps

from ..models import ConversionJob, WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)


def webhook_secret_for(*, user_id: Any) -> str:
    """The user's Standard Webhooks secret: `whsec_` + base64 of 32 bytes derived from the signing key."""
    key = (settings.FILES_WEBHOOK_SIGNING_KEY or settings.SECRET_KEY).encode()
    raw = hmac.new(key, f"file_processor.webhook:{user_id}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(raw).decode()


def callback_url_check(url: str) -> None:
    """The one SSRF guard (common.outbound): raises OutboundBlocked (422, code url_*) for a refused URL."""
    from common.outbound import outbound_url_check

    outbound_url_check(url)


def webhook_enqueue(*, job: ConversionJob, event_type: str, data: dict[str, Any]) -> WebhookDelivery:
    """The job's completion delivery (one per job; a second call returns the first), queued after commit."""
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            job=job,
            defaults={
                "url": job.callback_url,
                "event_type": event_type,
                "payload": {"type": event_type, "timestamp": format_datetime(timezone.now()), "data": data},
            },
        )
        if created:
            job_enqueue(delivery)
    return delivery


def _retry_after(headers: list[tuple[str, str]]) -> float | None:
    for name, value in headers:
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def webhook_deliver(*, delivery_id: Any) -> str:
    """One delivery try (the task's body). Returns the delivery's status afterwards, or "skipped"."""
    from common.outbound import OutboundBlocked, OutboundError, outbound_request

    delivery = job_claim(WebhookDelivery, delivery_id)
    if delivery is None:
        return "skipped"
    body = json_dumps(delivery.payload)
    msg_id = str(delivery.pk)
    sent_at = timezone.now()
    signature = Webhook(webhook_secret_for(user_id=delivery.job.owner_id)).sign(msg_id, sent_at, body)
    headers = [
        ("content-type", "application/json"),
        ("webhook-id", msg_id),
        ("webhook-timestamp", str(int(sent_at.timestamp()))),
        ("webhook-signature", signature),
        ("user-agent", "api-platform-files/1.0"),
    ]
    attempt = WebhookAttempt(delivery=delivery, number=delivery.attempts)
    retry_hint: float | None = None
    permanent = False
    try:
        response = outbound_request(
            method="POST",
            url=delivery.url,
            headers=headers,
            body=body.encode(),
            timeout=float(settings.FILES_WEBHOOK_TIMEOUT_SECONDS),
            max_body=2048,
        )
    except OutboundBlocked as exc:
        attempt.error_code, attempt.error_message, permanent = exc.code, exc.detail, True
    except OutboundError as exc:
        attempt.error_code, attempt.error_message = exc.code, exc.detail
    else:
        attempt.status_code = response.status
        attempt.duration_ms = int(response.elapsed_ms)
        attempt.response_excerpt = response.body[:2048].decode("utf-8", "replace")
        if 200 <= response.status < 300:
            attempt.save()
            job_succeed(delivery)
            return "succeeded"
        attempt.error_code = "http_status"
        attempt.error_message = f"The receiver answered {response.status}."
        permanent = response.status == 410
        retry_hint = _retry_after(response.headers)
    attempt.save()
    if permanent or delivery.attempts >= int(settings.FILES_WEBHOOK_MAX_ATTEMPTS):
        job_fail(delivery, code=attempt.error_code, message=attempt.error_message)
        return "failed"
    delay = retry_delay(
        delivery.attempts, base=settings.FILES_RETRY_BASE_SECONDS, maximum=settings.FILES_RETRY_MAX_SECONDS
    )
    if retry_hint is not None:
        delay = min(max(delay, retry_hint), float(settings.FILES_RETRY_MAX_SECONDS))
    if job_fail(delivery, code=attempt.error_code, message=attempt.error_message, retry_in=delay):
        job_enqueue(delivery, countdown=delay)
    return "queued"
