"""Admin: orders with their lines and status history; Stripe events read-only with a retry action.

Status changes from the admin go through the state machine (actions), never through the form.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from common.errors import ApplicationError

from . import services
from .models import ChangeCause, Order, OrderItem, OrderStatus, OrderStatusChange, StripeEvent


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    fields = ("position", "sku", "name", "quantity", "unit_amount", "line_total")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderStatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    can_delete = False
    fields = ("created_at", "field", "from_status", "to_status", "cause", "stripe_event_id", "actor")
    readonly_fields = fields
    ordering = ("created_at",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _move(request: HttpRequest, queryset: QuerySet[Order], status: str) -> None:
    done = 0
    for order in queryset:
        try:
            services.order_update(
                user=request.user, order_id=order.pk, changes={"status": status}, cause=ChangeCause.ADMIN
            )
            done += 1
        except ApplicationError as exc:
            messages.warning(request, f"{order.number}: {exc.detail}")
    if done:
        messages.success(request, f"{done} order(s) marked {status}.")


@admin.action(description="Mark selected orders fulfilled")
def mark_fulfilled(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Order]) -> None:
    _move(request, queryset, OrderStatus.FULFILLED)


@admin.action(description="Cancel selected orders")
def cancel_orders(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Order]) -> None:
    _move(request, queryset, OrderStatus.CANCELLED)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "owner", "status", "payment_status", "total", "currency", "customer_email", "created_at")
    list_filter = ("status", "payment_status", "currency", "created_at")
    search_fields = ("number", "customer_email", "stripe_payment_intent_id")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    inlines = [OrderItemInline, OrderStatusChangeInline]
    actions = [mark_fulfilled, cancel_orders]
    fields = (
        "id",
        "number",
        "owner",
        "status",
        "payment_status",
        "currency",
        "subtotal",
        "tax",
        "total",
        "amount_refunded",
        "stripe_payment_intent_id",
        "customer_email",
        "shipping_notes",
        "metadata",
        "created_at",
        "updated_at",
    )
    readonly_fields = tuple(f for f in fields if f not in ("customer_email", "shipping_notes", "metadata"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # totals and numbers are made by services.order_create

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        services.order_update(user=request.user, order_id=obj.pk, changes=changes, cause=ChangeCause.ADMIN)


@admin.action(description="Process selected events again")
def retry_events(modeladmin: Any, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
    queued = 0
    for event in queryset:
        try:
            services.stripe_event_retry(event_pk=event.pk)
            queued += 1
        except ApplicationError as exc:
            messages.warning(request, f"{event.event_id}: {exc.detail}")
    messages.success(request, f"{queued} event(s) queued again.")


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "event_id", "type", "status", "outcome", "attempts", "order")
    list_filter = ("status", "outcome", "type", "livemode", "received_at")
    search_fields = ("event_id", "type")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    show_full_result_count = False
    actions = [retry_events]
    exclude = ("raw_body",)
    readonly_fields = (
        "id",
        "event_id",
        "type",
        "api_version",
        "livemode",
        "created",
        "received_at",
        "source_ip",
        "status",
        "attempts",
        "due_at",
        "started_at",
        "finished_at",
        "outcome",
        "outcome_detail",
        "error_code",
        "error_message",
        "order",
        "headers",
        "payload",
    )

    @admin.display(description="raw payload")
    def payload(self, obj: StripeEvent) -> str:
        try:
            text = json.dumps(json.loads(obj.raw_body), indent=2)
        except ValueError:
            text = obj.raw_body
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
