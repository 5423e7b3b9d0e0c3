"""Real-world deliveries: Stripe's own example objects, sent as signed webhooks over HTTP, are stored
byte for byte, so the Stripe-Signature still verifies against what the bin kept."""

import hashlib
import hmac
import json
import time
import urllib.request
from pathlib import Path

import pytest

from webhook_tester.models import CapturedEvent

pytestmark = pytest.mark.django_db(transaction=True)

# Stripe's example objects, copied unchanged with their MIT notice (fixtures/stripe/README.md).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stripe" / "resources.json"
SECRET = "whsec_test_secret_for_bins"
TYPES = {
    "payment_intent": "payment_intent.succeeded",
    "charge": "charge.succeeded",
    "refund": "charge.refunded",
    "checkout.session": "checkout.session.completed",
}


def _resources() -> dict:
    return json.loads(FIXTURES.read_text())


def _signed(resource: str, obj: dict) -> tuple[bytes, str]:
    envelope = {
        "id": f"evt_test_{resource.replace('.', '_')}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1721948530,
        "type": TYPES[resource],
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }
    payload = json.dumps(envelope, indent=2, ensure_ascii=False).encode("utf-8")  # Stripe sends pretty JSON
    timestamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={mac}"


def _verifies(body: bytes, header: str) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@pytest.mark.parametrize("resource", list(TYPES))
def test_signed_stripe_delivery_is_captured_byte_exact(live_asgi_url, bin, auth_client, resource):
    payload, signature = _signed(resource, _resources()[resource])
    request = urllib.request.Request(  # noqa: S310 - the local test server
        f"{live_asgi_url}/hooks/{bin.pk}/stripe",
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        event_id = json.load(answer)["id"]
    event = CapturedEvent.objects.get(pk=event_id)
    assert bytes(event.body) == payload
    stored_signature = dict((name.lower(), value) for name, value in event.headers)["stripe-signature"]
    assert stored_signature == signature
    assert _verifies(bytes(event.body), stored_signature)
    raw = auth_client.get(f"/api/v1/bins/{bin.pk}/events/{event.pk}/export", {"format": "raw"})
    assert raw.content == payload
    assert _verifies(raw.content, signature)
