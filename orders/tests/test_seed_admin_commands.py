"""Seed (idempotent, bulk), the admin pages and actions, and `orders_replay_webhooks`."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import OutputWrapper
from django.test import TestCase

from common.jobs import JobStatus
from orders import services
from orders.models import Order, OrderStatus, OrderStatusChange, StripeEvent
from orders.seed import DEMO_ORDERS, orders_bulk_seed, seed_run

from .conftest import order_body, post_event, stripe_event

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent_and_has_webhook_history():
    get_user_model().objects.create_user(email="demo@example.com", password="demo-password-123")
    get_user_model().objects.create_user(email="admin@example.com", password="admin-password-123", is_staff=True)
    seed_run(stdout=io.StringIO())
    out = io.StringIO()
    seed_run(stdout=out)
    assert "already present" in out.getvalue()
    assert Order.objects.count() == DEMO_ORDERS
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    assert set(Order.objects.values_list("currency", flat=True)) >= {"usd", "jpy", "kwd"}
    assert StripeEvent.objects.filter(status=JobStatus.SUCCEEDED).count() == StripeEvent.objects.count() > DEMO_ORDERS
    assert OrderStatusChange.objects.filter(cause="webhook").exists()


def test_bulk_seed_inserts_in_batches_with_progress():
    buffer = io.StringIO()
    out = OutputWrapper(buffer)
    assert orders_bulk_seed(count=120, stdout=out) == 120
    assert orders_bulk_seed(count=30, stdout=out) == 30  # a second run adds, numbers do not collide
    assert Order.objects.count() == 150 and Order.objects.filter(items__isnull=True).count() == 0
    assert "\rorders: 120/120 (100%)" in buffer.getvalue() and "inserted 30 orders" in buffer.getvalue()


def test_seed_command_takes_orders_option():
    call_command("seed", "--orders", "25", stdout=io.StringIO())
    assert Order.objects.filter(number__startswith="ORD-U").count() == 25


def test_admin_pages_and_actions(client, user, staff_user, api_client):
    order = services.order_create(owner=user, **order_body())
    post_event(api_client, stripe_event("customer.created", {"id": "cus"}))
    event = StripeEvent.objects.get()
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    for url in (
        "/admin/orders/order/",
        "/admin/orders/order/?status=pending&q=ada",
        f"/admin/orders/order/{order.pk}/change/",
        "/admin/orders/stripeevent/?status=succeeded",
        f"/admin/orders/stripeevent/{event.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    assert b"customer.created" in client.get(f"/admin/orders/stripeevent/{event.pk}/change/").content
    client.post("/admin/orders/order/", {"action": "cancel_orders", "_selected_action": [str(order.pk)]})
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert OrderStatusChange.objects.get(order=order).cause == "admin"
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post("/admin/orders/stripeevent/", {"action": "retry_events", "_selected_action": [str(event.pk)]})
    event.refresh_from_db()
    assert event.attempts == 2 and event.status == JobStatus.SUCCEEDED


def test_replay_command(api_client, monkeypatch):
    monkeypatch.setitem(services.HANDLERS, "customer.created", (lambda obj: 1 / 0, None))
    post_event(api_client, stripe_event("customer.created", {"id": "cus"}))
    post_event(api_client, stripe_event("charge.refunded", {"id": "ch", "metadata": {}}))
    failed = StripeEvent.objects.get(type="customer.created")
    assert failed.status == JobStatus.FAILED
    monkeypatch.delitem(services.HANDLERS, "customer.created")
    out = io.StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("orders_replay_webhooks", "--failed", stdout=out)
    assert "queued 1 event" in out.getvalue()
    failed.refresh_from_db()
    assert (failed.status, failed.outcome) == (JobStatus.SUCCEEDED, "ignored")
    other = StripeEvent.objects.get(type="charge.refunded")
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("orders_replay_webhooks", "--ids", other.event_id, stdout=io.StringIO())
    other.refresh_from_db()
    assert other.attempts == 2
