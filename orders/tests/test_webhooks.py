"""Stripe webhooks: signatures, store-first intake, handlers, duplicates, ordering, retries."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from common.jobs import JobStatus, jobs_sweep
from notifications.selectors import notification_list
from orders import services
from orders.models import EventOutcome, Order, OrderStatus, OrderStatusChange, PaymentStatus, StripeEvent

from .conftest import (
    OLD_SECRET,
    SECRET,
    WEBHOOK_URL,
    charge,
    payment_intent,
    post_event,
    run_concurrently,
    sign,
    stripe_event,
)

URL = "/api/v1/orders"


def make_order(client, **overrides):
    from .conftest import order_body

    response = client.post(URL, order_body(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=response.json()["id"])


@pytest.mark.django_db
def test_succeeded_event_pays_the_order_and_notifies_the_owner(auth_client, api_client, user):
    order = make_order(auth_client)
    pi = payment_intent(order)
    response = post_event(api_client, stripe_event("payment_intent.succeeded", pi))
    assert response.status_code == 200, response.json()
    assert response.json()["duplicate"] is False
    order.refresh_from_db()
    assert (order.status, order.payment_status) == (OrderStatus.PAID, PaymentStatus.PAID)
    assert order.stripe_payment_intent_id == pi["id"]
    event = StripeEvent.objects.get()
    assert (event.status, event.outcome, event.order_id) == (JobStatus.SUCCEEDED, EventOutcome.PROCESSED, order.pk)
    assert json.loads(event.raw_body)["id"] == event.event_id and "Stripe-Signature" in event.headers
    change = OrderStatusChange.objects.get(order=order, field="status")
    assert (change.cause, change.stripe_event_id) == ("webhook", event.event_id)
    note = notification_list(user=user).get()
    assert note.kind == "order.paid" and "30.00 USD" in note.body


@pytest.mark.django_db
def test_bad_signatures_are_400_and_store_nothing(api_client, caplog):
    payload = stripe_event("payment_intent.succeeded", {"id": "pi_1", "metadata": {}})
    now = int(time.time())
    cases = {
        "missing": post_event(api_client, payload, header=""),
        "wrong secret": post_event(api_client, payload, secret="whsec_wrong"),
        "too old": post_event(api_client, payload, timestamp=now - 301),
        "future": post_event(api_client, payload, timestamp=now + 301),
        "body changed": post_event(api_client, payload.replace('"pi_1"', '"pi_2"'), header=sign(payload)),
        "garbage header": post_event(api_client, payload, header="nonsense"),
        "no v1": post_event(api_client, payload, header=sign(payload).replace("v1=", "v0=")),
    }
    for name, response in cases.items():
        assert response.status_code == 400, name
        assert response["Content-Type"].startswith("application/problem+json"), name
        assert response.json()["code"] in {"invalid_signature", "missing_signature"}, name
    assert not StripeEvent.objects.exists()
    assert "stripe webhook refused" in caplog.text


@pytest.mark.django_db
def test_rotation_accepts_any_configured_secret_and_any_v1(api_client, settings):
    settings.STRIPE_WEBHOOK_SECRET = [SECRET, OLD_SECRET]
    payload = stripe_event("ping.unknown", {"id": "x"})
    assert post_event(api_client, payload, secret=OLD_SECRET).status_code == 200
    payload = stripe_event("ping.unknown", {"id": "y"})
    t = int(time.time())
    both = sign(payload, "whsec_retired", t) + "," + sign(payload, SECRET, t).split(",")[1] + ",v0=deadbeef"
    assert post_event(api_client, payload, header=both).status_code == 200


@pytest.mark.django_db
def test_unknown_types_are_ignored_and_unknown_orders_unmatched(api_client):
    post_event(api_client, stripe_event("customer.created", {"id": "cus_1"}))
    post_event(api_client, stripe_event("payment_intent.succeeded", {"id": "pi_x", "metadata": {}}))
    outcomes = dict(StripeEvent.objects.values_list("type", "outcome"))
    assert outcomes == {"customer.created": EventOutcome.IGNORED, "payment_intent.succeeded": EventOutcome.UNMATCHED}
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {JobStatus.SUCCEEDED}


@pytest.mark.django_db
def test_duplicate_delivery_is_acknowledged_and_processed_once(auth_client, api_client):
    order = make_order(auth_client)
    payload = stripe_event("payment_intent.succeeded", payment_intent(order))
    assert post_event(api_client, payload).json()["duplicate"] is False
    again = post_event(api_client, payload)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert StripeEvent.objects.count() == 1
    assert OrderStatusChange.objects.filter(order=order, field="status").count() == 1


@pytest.mark.django_db
def test_refunds_full_and_partial(auth_client, api_client, user):
    order = make_order(auth_client)
    pi = payment_intent(order)
    post_event(api_client, stripe_event("payment_intent.succeeded", pi))
    order.refresh_from_db()
    post_event(api_client, stripe_event("charge.refunded", charge(order, amount_refunded=1000)))
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.amount_refunded) == (
        "partially_refunded",
        "partially_refunded",
        1000,
    )
    post_event(api_client, stripe_event("charge.refunded", charge(order, amount_refunded=order.total)))
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.amount_refunded) == ("refunded", "refunded", order.total)
    assert notification_list(user=user, kind="order.refunded").count() == 2


@pytest.mark.django_db
def test_failed_canceled_dispute_and_checkout(auth_client, api_client):
    failed = make_order(auth_client)
    post_event(
        api_client,
        stripe_event("payment_intent.payment_failed", payment_intent(failed, status="requires_payment_method")),
    )
    failed.refresh_from_db()
    assert (failed.status, failed.payment_status) == ("payment_failed", "failed")
    canceled = make_order(auth_client)
    post_event(api_client, stripe_event("payment_intent.canceled", payment_intent(canceled)))
    canceled.refresh_from_db()
    assert (canceled.status, canceled.payment_status) == ("cancelled", "canceled")
    checkout = make_order(auth_client)
    from .conftest import STRIPE

    session = {**STRIPE["checkout.session"], "metadata": {}, "client_reference_id": str(checkout.pk)}
    session.update(
        {"payment_status": "paid", "amount_total": checkout.total, "currency": "usd", "payment_intent": "pi_cs"}
    )
    post_event(api_client, stripe_event("checkout.session.completed", session))
    checkout.refresh_from_db()
    assert (checkout.status, checkout.stripe_payment_intent_id) == ("paid", "pi_cs")
    post_event(api_client, stripe_event("charge.dispute.created", {"id": "dp_1", "payment_intent": "pi_cs"}))
    checkout.refresh_from_db()
    assert (checkout.status, checkout.payment_status) == ("paid", "disputed")
    expired = make_order(auth_client)
    session = {**STRIPE["checkout.session"], "metadata": {"order_id": str(expired.pk)}, "payment_intent": None}
    post_event(api_client, stripe_event("checkout.session.expired", session))
    expired.refresh_from_db()
    assert expired.status == "cancelled"


@pytest.mark.django_db
def test_an_underpayment_does_not_mark_paid(auth_client, api_client):
    order = make_order(auth_client)
    post_event(
        api_client, stripe_event("payment_intent.succeeded", payment_intent(order, amount_received=order.total - 1))
    )
    order.refresh_from_db()
    assert order.status == "pending"
    assert StripeEvent.objects.get().outcome == EventOutcome.IGNORED


@pytest.mark.django_db
def test_out_of_order_events_never_move_an_order_backwards(auth_client, api_client):
    order = make_order(auth_client)
    pi = payment_intent(order)
    t = int(time.time())
    post_event(api_client, stripe_event("payment_intent.succeeded", pi, created=t))
    order.refresh_from_db()
    post_event(api_client, stripe_event("charge.refunded", charge(order, amount_refunded=order.total), created=t + 20))
    # Delivered late: a partial refund and a failure that Stripe sent before the full refund.
    post_event(api_client, stripe_event("charge.refunded", charge(order, amount_refunded=100), created=t + 10))
    post_event(api_client, stripe_event("payment_intent.payment_failed", pi, created=t - 5))
    # payment_status has no state machine (Stripe is the authority): only `created` keeps this one out.
    post_event(
        api_client, stripe_event("charge.dispute.created", {"id": "dp", "payment_intent": pi["id"]}, created=t + 10)
    )
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.amount_refunded) == ("refunded", "refunded", order.total)
    late = StripeEvent.objects.filter(created__lt=datetime.fromtimestamp(t + 20, tz=UTC))
    assert set(late.exclude(type="payment_intent.succeeded").values_list("outcome", flat=True)) == {"ignored"}
    # Same second, but the machine forbids going back: refunded -> paid is illegal.
    post_event(api_client, stripe_event("payment_intent.succeeded", pi, created=t + 20))
    order.refresh_from_db()
    assert order.status == "refunded"


@pytest.mark.django_db
def test_failure_is_retried_then_succeeds(auth_client, api_client, monkeypatch):
    order = make_order(auth_client)
    real = services.HANDLERS["payment_intent.succeeded"]
    calls = []

    def flaky(event, obj, order):
        calls.append(event.attempts)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return real[1](event, obj, order)

    monkeypatch.setitem(services.HANDLERS, "payment_intent.succeeded", (real[0], flaky))
    post_event(api_client, stripe_event("payment_intent.succeeded", payment_intent(order)))
    event = StripeEvent.objects.get()
    assert (event.status, event.attempts, event.outcome) == (JobStatus.SUCCEEDED, 2, EventOutcome.PROCESSED)
    order.refresh_from_db()
    assert order.status == "paid"


@pytest.mark.django_db
def test_last_failure_is_failed_then_staff_retry_succeeds(auth_client, api_client, staff_client, settings, monkeypatch):
    settings.ORDERS_WEBHOOK_MAX_ATTEMPTS = 3
    order = make_order(auth_client)
    real = services.HANDLERS["payment_intent.succeeded"]

    def broken(event, obj, order):
        raise RuntimeError("handler bug")

    monkeypatch.setitem(services.HANDLERS, "payment_intent.succeeded", (real[0], broken))
    post_event(api_client, stripe_event("payment_intent.succeeded", payment_intent(order)))
    event = StripeEvent.objects.get()
    assert (event.status, event.attempts, event.error_code) == (JobStatus.FAILED, 3, "RuntimeError")
    assert "handler bug" in event.error_message
    listed = staff_client.get(f"{URL}/webhooks", {"status": "failed"}).json()["items"]
    assert [item["id"] for item in listed] == [str(event.pk)]
    assert auth_client.post(f"{URL}/webhooks/{event.pk}/retry").status_code == 403
    monkeypatch.setitem(services.HANDLERS, "payment_intent.succeeded", real)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_client.post(f"{URL}/webhooks/{event.pk}/retry")
    assert response.status_code == 202
    event.refresh_from_db()
    assert (event.status, event.outcome) == (JobStatus.SUCCEEDED, EventOutcome.PROCESSED)
    detail = staff_client.get(f"{URL}/webhooks/{event.pk}").json()
    assert detail["payload"]["id"] == event.event_id and detail["status"] == "succeeded"


@pytest.mark.django_db
def test_retry_delays_grow_with_jitter(auth_client, api_client, settings, monkeypatch):
    from orders import tasks

    delays = []
    monkeypatch.setattr(tasks, "job_enqueue", lambda job, countdown=None: delays.append(countdown))
    monkeypatch.setitem(services.HANDLERS, "customer.created", (lambda obj: 1 / 0, None))
    post_event(api_client, stripe_event("customer.created", {"id": "cus"}))
    event = StripeEvent.objects.get()
    assert event.status == JobStatus.QUEUED and event.due_at > timezone.now()
    base = settings.ORDERS_WEBHOOK_RETRY_BASE_SECONDS
    assert base / 2 <= delays[0] <= base


@pytest.mark.django_db
def test_event_stored_while_broker_down_is_processed_after_it_returns(auth_client, api_client, settings):
    from config.celery import app

    order = make_order(auth_client)
    conf = app.conf
    saved = {
        k: conf[k]
        for k in (
            "task_always_eager",
            "broker_url",
            "broker_connection_retry",
            "broker_connection_timeout",
            "task_publish_retry",
        )
    }
    try:
        conf.update(
            task_always_eager=False,
            broker_url="redis://127.0.0.1:1/0",
            broker_connection_retry=False,
            broker_connection_timeout=0.5,
            task_publish_retry=False,
        )
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]
        response = post_event(api_client, stripe_event("payment_intent.succeeded", payment_intent(order)))
        assert response.status_code == 200
        assert StripeEvent.objects.get().status == JobStatus.QUEUED
    finally:
        conf.update(saved)
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]
    # The broker is back (eager here): the sweeper sends what stayed queued.
    assert jobs_sweep(now=timezone.now() + timedelta(seconds=settings.JOBS_SWEEP_AFTER_SECONDS + 1)) == 1
    order.refresh_from_db()
    assert order.status == "paid" and StripeEvent.objects.get().status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_webhook_list_and_detail_are_staff_only(auth_client, api_client, staff_client):
    post_event(api_client, stripe_event("customer.created", {"id": "cus"}))
    post_event(api_client, stripe_event("charge.refunded", {"id": "ch", "metadata": {}}))
    assert auth_client.get(f"{URL}/webhooks").status_code == 403
    items = staff_client.get(f"{URL}/webhooks", {"type": "charge.refunded"}).json()["items"]
    assert [i["type"] for i in items] == ["charge.refunded"] and items[0]["outcome"] == "unmatched"
    assert staff_client.get(f"{URL}/webhooks", {"outcome": "ignored"}).json()["items"][0]["type"] == "customer.created"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_are_stored_and_processed_once(user, make_access_token):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real concurrent transactions")
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(user)}")
    order = make_order(client)
    payload = stripe_event("payment_intent.succeeded", payment_intent(order))
    results: list[tuple[int, bool]] = []

    def deliver() -> None:
        response = post_event(APIClient(), payload)
        results.append((response.status_code, response.json().get("duplicate")))

    run_concurrently(8, deliver)
    assert sorted(results) == [(200, False)] + [(200, True)] * 7
    assert StripeEvent.objects.count() == 1
    assert OrderStatusChange.objects.filter(order=order, field="status").count() == 1
    assert notification_list(user=user, kind="order.paid").count() == 1


@pytest.mark.django_db
def test_intake_has_its_own_rate_limit_not_the_anonymous_one(api_client, settings):
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_ANON = "2/1m"
    settings.ORDERS_STRIPE_WEBHOOK_RATE = "4/1m"
    statuses = [post_event(api_client, stripe_event("customer.created", {"id": f"c{i}"})) for i in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 200, 429]
    assert statuses[0]["RateLimit-Policy"].startswith('"stripe-webhook";q=4')


async def test_intake_body_limit_is_its_own_and_enforced_before_django(settings):
    from common.asgi import RequestGuard, body_limit_for
    from common.tests.asgi_driver import exchange, http_scope

    limit = settings.ORDERS_STRIPE_WEBHOOK_MAX_BODY_BYTES
    assert body_limit_for(WEBHOOK_URL) == limit == 512 * 1024
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    too_big = http_scope(WEBHOOK_URL, headers=[("content-length", str(limit + 1))])
    result = await exchange(RequestGuard(app), too_big, [b"x" * (limit + 1)])
    assert result.status == 413 and json.loads(result.body)["code"] == "payload_too_large" and not reached
    fits = http_scope(WEBHOOK_URL, headers=[("content-length", str(limit))])
    assert (await exchange(RequestGuard(app), fits, [b"x" * limit])).status == 204
