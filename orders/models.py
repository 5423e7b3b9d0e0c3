"""Orders, their lines and audit trail, Idempotency-Key records, and received Stripe events.

Money is integer minor units plus a lower-case ISO 4217 code (orders/currencies.py), exactly what a
Stripe PaymentIntent's `amount` is. The order's lifecycle (`status`) is kept apart from what Stripe
says about the money (`payment_status`); both change only through orders/services/state.py, which
writes an `OrderStatusChange` row for every change.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from common.jobs import QueuedJob
from common.serialization import JSONEncoder


class OrderStatus(models.TextChoices):
    PENDING = "pending", "pending"
    PAID = "paid", "paid"
    PAYMENT_FAILED = "payment_failed", "payment failed"
    FULFILLED = "fulfilled", "fulfilled"
    PARTIALLY_REFUNDED = "partially_refunded", "partially refunded"
    REFUNDED = "refunded", "refunded"
    CANCELLED = "cancelled", "cancelled"


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "unpaid"
    PAID = "paid", "paid"
    FAILED = "failed", "failed"
    CANCELED = "canceled", "canceled"
    PARTIALLY_REFUNDED = "partially_refunded", "partially refunded"
    REFUNDED = "refunded", "refunded"
    DISPUTED = "disputed", "disputed"


class ChangeCause(models.TextChoices):
    API = "api", "api"
    WEBHOOK = "webhook", "webhook"
    ADMIN = "admin", "admin"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=32, unique=True, editable=False, help_text="Human-readable, e.g. ORD-...")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders")
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    payment_status = models.CharField(max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    currency = models.CharField(max_length=3)
    subtotal = models.BigIntegerField()
    tax = models.BigIntegerField(default=0)
    total = models.BigIntegerField()
    amount_refunded = models.BigIntegerField(default=0)
    customer_email = models.EmailField(max_length=254, blank=True, default="")
    shipping_notes = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, default="")
    # `created` of the newest Stripe event applied: an older event never undoes a newer one.
    stripe_event_created = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # Owners' lists: one index per sort, owner first (the keyset walk is one index range).
            models.Index(fields=["owner", "created_at", "id"], name="order_owner_created_idx"),
            models.Index(fields=["owner", "total", "id"], name="order_owner_total_idx"),
            models.Index(fields=["owner", "status", "id"], name="order_owner_status_idx"),
            models.Index(fields=["owner", "updated_at", "id"], name="order_owner_updated_idx"),
            # Staff lists over every order, and the two filtered sorts the benchmark measures.
            models.Index(fields=["created_at", "id"], name="order_created_idx"),
            models.Index(fields=["total", "id"], name="order_total_idx"),
            models.Index(fields=["status", "id"], name="order_status_idx"),
            models.Index(fields=["updated_at", "id"], name="order_updated_idx"),
            models.Index(fields=["status", "created_at", "id"], name="order_status_created_idx"),
            models.Index(fields=["currency", "total", "id"], name="order_currency_total_idx"),
            models.Index(
                fields=["stripe_payment_intent_id"],
                condition=~Q(stripe_payment_intent_id=""),
                name="order_payment_intent_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_amount = models.BigIntegerField(help_text="Price of one unit at order time, minor units.")
    line_total = models.BigIntegerField()

    class Meta:
        ordering = ("order", "position")
        indexes = [models.Index(fields=["sku", "order"], name="orderitem_sku_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderStatusChange(models.Model):
    """One audited change of an order's `status` or `payment_status`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    field = models.CharField(max_length=16, default="status")
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    cause = models.CharField(max_length=16, choices=ChangeCause.choices)
    stripe_event_id = models.CharField(max_length=255, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("order", "created_at")
        indexes = [models.Index(fields=["order", "created_at"], name="orderstatuschange_order_idx")]

    def __str__(self) -> str:
        return f"{self.field}: {self.from_status} -> {self.to_status} ({self.cause})"


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight", "in flight"
    COMPLETED = "completed", "completed"


class IdempotencyKey(models.Model):
    """The first response to a keyed request, replayed for repeats until `expires_at`.

    The row is inserted (in its own transaction) before the work starts; the unique constraint is
    what makes concurrent duplicates see each other.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=JSONEncoder)
    locked_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "endpoint", "key"], name="idempotency_owner_endpoint_key_unique")
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expires_idx")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"


class EventOutcome(models.TextChoices):
    PROCESSED = "processed", "processed"
    IGNORED = "ignored", "ignored"
    UNMATCHED = "unmatched", "unmatched"


class StripeEvent(QueuedJob):
    """A verified Stripe event, stored before anything else happens, then processed by a Celery task."""

    job_task = "orders.tasks.stripe_event_process_task"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    api_version = models.CharField(max_length=32, blank=True, default="")
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(help_text="The event's `created` (Stripe's clock).")
    raw_body = models.TextField()
    headers = models.JSONField(default=dict)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=16, choices=EventOutcome.choices, blank=True, default="")
    outcome_detail = models.CharField(max_length=255, blank=True, default="")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_events")

    class Meta:
        ordering = ("-received_at", "-id")
        indexes = [
            models.Index(fields=["status", "due_at"], name="stripeevent_status_due_idx"),
            models.Index(fields=["received_at", "id"], name="stripeevent_received_idx"),
            models.Index(fields=["type", "received_at"], name="stripeevent_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"
