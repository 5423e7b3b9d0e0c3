"""Helpers for the orders tests: order bodies, and Stripe events signed with the real scheme."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

SECRET = "whsec_test_secret_0123456789"
OLD_SECRET = "whsec_old_secret_9876543210"
WEBHOOK_URL = "/api/v1/orders/webhooks/stripe"


def _fixtures() -> dict[str, Any]:
    """Stripe's own example objects (MIT, notice in fixtures/STRIPE_FIXTURES_LICENSE.md), kept in the repo."""
    return json.loads((Path(__file__).parent / "fixtures" / "stripe_resources.json").read_text())


STRIPE = _fixtures()


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "currency": "usd",
        "customer_email": "ada@example.com",
        "items": [{"sku": "TSHIRT-M", "name": "T-shirt", "quantity": 2, "unit_amount": 1500}],
        "metadata": {"campaign": "winter"},
    }
    body.update(overrides)
    return body


def sign(payload: str | bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """`Stripe-Signature` exactly as Stripe builds it: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))."""
    if isinstance(payload, bytes):
        payload = payload.decode()
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_event(kind: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None) -> str:
    """An event envelope (Stripe's fixture `event`) around `obj`, as the JSON text Stripe would send."""
    envelope = copy.deepcopy(STRIPE["event"])
    envelope.update(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "type": kind,
            "created": int(time.time()) if created is None else created,
            "data": {"object": obj},
        }
    )
    return json.dumps(envelope)


def payment_intent(order: Any, **overrides: Any) -> dict[str, Any]:
    obj = copy.deepcopy(STRIPE["payment_intent"])
    obj.update(
        {
            "id": f"pi_{uuid.uuid4().hex[:24]}",
            "amount": order.total,
            "amount_received": order.total,
            "currency": order.currency,
            "metadata": {"order_id": str(order.pk)},
            "status": "succeeded",
        }
    )
    obj.update(overrides)
    return obj


def charge(order: Any, *, amount_refunded: int, **overrides: Any) -> dict[str, Any]:
    obj = copy.deepcopy(STRIPE["charge"])
    obj.update(
        {
            "amount": order.total,
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= order.total,
            "currency": order.currency,
            "payment_intent": order.stripe_payment_intent_id or None,
            "metadata": {"order_id": str(order.pk)},
        }
    )
    obj.update(overrides)
    return obj


def post_event(
    client: Any, payload: str, *, secret: str = SECRET, timestamp: int | None = None, header: str | None = None
) -> Any:
    """POST a signed event; after-commit work (the processing task, eager in tests) runs before returning."""
    from django.test import TestCase

    signature = header if header is not None else sign(payload, secret, timestamp)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)


def run_concurrently(count: int, action: Any) -> None:
    """Run `action()` in `count` threads released together by a barrier; each closes its connection."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait(timeout=10)
        try:
            action()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


@pytest.fixture(autouse=True)
def _stripe_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = [SECRET]


@pytest.fixture
def staff_client(staff_user, make_access_token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(staff_user)}")
    return client


@pytest.fixture
def other_client(other_user, make_access_token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(other_user)}")
    return client
