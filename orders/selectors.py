"""Order and Stripe event reads. Owners see their own orders; staff see every order."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from .models import Order, OrderItem, OrderStatusChange, StripeEvent


def as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def order_list(*, user: Any) -> QuerySet[Order]:
    """Orders `user` may see, with their lines prefetched in position order."""
    queryset = Order.objects.all()
    if not getattr(user, "is_staff", False):
        queryset = queryset.filter(owner_id=user.pk)
    return queryset.prefetch_related(Prefetch("items", queryset=OrderItem.objects.order_by("position")))


def order_visible(*, user: Any, order_id: Any) -> Order | None:
    pk = as_uuid(order_id)
    if pk is None:
        return None
    return order_list(user=user).filter(pk=pk).first()


def order_history(*, order: Order) -> QuerySet[OrderStatusChange]:
    return OrderStatusChange.objects.filter(order=order).order_by("created_at", "id")


def orders_with_sku(queryset: QuerySet[Order], sku: str) -> QuerySet[Order]:
    """Orders that have at least one line with this SKU (EXISTS: no duplicate rows, unlike a join)."""
    return queryset.filter(Exists(OrderItem.objects.filter(order=OuterRef("pk"), sku=sku)))


def orders_search(queryset: QuerySet[Order], text: str) -> QuerySet[Order]:
    """Order number or customer email containing `text` (case-insensitive)."""
    return queryset.filter(Q(number__icontains=text) | Q(customer_email__icontains=text))


def stripe_event_list() -> QuerySet[StripeEvent]:
    return StripeEvent.objects.all()


def stripe_event_get(*, event_pk: Any) -> StripeEvent | None:
    pk = as_uuid(event_pk)
    return StripeEvent.objects.filter(pk=pk).first() if pk else None
