"""django-filter FilterSets of the order list and the webhook event list."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from common.jobs import JobStatus
from common.strict import StrictFilterSet

from . import selectors
from .currencies import CURRENCY_CODES
from .models import EventOutcome, Order, OrderStatus, PaymentStatus, StripeEvent


class OrderFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, label="Order status.")
    payment_status = django_filters.ChoiceFilter(choices=PaymentStatus.choices, label="Payment status.")
    currency = django_filters.ChoiceFilter(choices=[(c, c) for c in CURRENCY_CODES], label="ISO 4217 code, lower-case.")
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="created_at >= (ISO 8601)."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label="created_at < (ISO 8601)."
    )
    updated_after = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="updated_at >= (ISO 8601)."
    )
    updated_before = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="lt", label="updated_at < (ISO 8601)."
    )
    total_min = django_filters.NumberFilter(field_name="total", lookup_expr="gte", label="total >= (minor units).")
    total_max = django_filters.NumberFilter(field_name="total", lookup_expr="lte", label="total <= (minor units).")
    customer_email = django_filters.CharFilter(
        field_name="customer_email", lookup_expr="iexact", label="Exact, any case."
    )
    sku = django_filters.CharFilter(method="filter_sku", label="Orders with at least one line of this SKU.")
    search = django_filters.CharFilter(method="filter_search", label="Order number or customer email contains.")

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_sku(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        return selectors.orders_with_sku(queryset, value)

    def filter_search(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        return selectors.orders_search(queryset, value.strip()) if value.strip() else queryset


class StripeEventFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices, label="Processing status.")
    outcome = django_filters.ChoiceFilter(choices=EventOutcome.choices, label="Processing outcome.")
    type = django_filters.CharFilter(field_name="type", label="Event type, e.g. `charge.refunded`.")
    received_after = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = StripeEvent
        fields: list[str] = []
