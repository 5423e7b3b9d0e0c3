"""Shapes of the Orders API. Input serializers parse types; the services enforce the business rules."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.strict import ModelSerializer, Serializer

from .currencies import CURRENCY_CODES, amount_format, currency_exponent
from .models import Order, OrderItem, OrderStatusChange, PaymentStatus, StripeEvent


@extend_schema_field(
    {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500}, "maxProperties": 50}
)
class MetadataField(serializers.JSONField):
    """Stripe-style metadata: up to 50 keys (40 characters), string values (500 characters)."""


class OrderItemInputSerializer(Serializer):
    sku = serializers.CharField(max_length=64, trim_whitespace=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, trim_whitespace=False, default="")
    quantity = serializers.IntegerField(help_text="1 to ORDERS_MAX_QUANTITY.")
    unit_amount = serializers.IntegerField(help_text="Minor units of the currency (cents; yen; fils).")


class OrderCreateSerializer(Serializer):
    currency = serializers.ChoiceField(choices=[(c, c) for c in CURRENCY_CODES], help_text="ISO 4217, lower-case.")
    customer_email = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    items = OrderItemInputSerializer(many=True)
    metadata = MetadataField(required=False, default=dict)
    shipping_notes = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("currency"), str):
            data = {**data, "currency": data["currency"].lower()}
        return super().to_internal_value(data)


class OrderUpdateSerializer(Serializer):
    metadata = MetadataField(required=False, help_text="Replaces the whole metadata object.")
    customer_email = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    shipping_notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    status = serializers.CharField(
        required=False,
        help_text="`cancelled` (pending or failed orders) or, staff only, `fulfilled` (paid orders); any other "
        "value is 400, an illegal move 409 `illegal_transition`.",
    )


class OrderItemSerializer(ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["sku", "name", "quantity", "unit_amount", "line_total"]
        read_only_fields = fields


class OrderSerializer(ModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)
    owner_id = serializers.UUIDField(read_only=True)
    metadata = MetadataField(read_only=True)
    currency_exponent = serializers.SerializerMethodField()
    total_display = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "owner_id",
            "status",
            "payment_status",
            "currency",
            "currency_exponent",
            "subtotal",
            "tax",
            "total",
            "total_display",
            "amount_refunded",
            "customer_email",
            "shipping_notes",
            "metadata",
            "stripe_payment_intent_id",
            "items",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_currency_exponent(self, order: Order) -> int:
        return currency_exponent(order.currency)

    def get_total_display(self, order: Order) -> str:
        """The total as a decimal string in the currency's exponent, e.g. "25.00" or "500" (JPY)."""
        return amount_format(order.total, order.currency)


class OrderStatusChangeSerializer(ModelSerializer):
    actor_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = OrderStatusChange
        fields = ["field", "from_status", "to_status", "cause", "stripe_event_id", "actor_id", "created_at"]
        read_only_fields = fields


class StripeEventSerializer(ModelSerializer):
    order_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = StripeEvent
        fields = [
            "id",
            "event_id",
            "type",
            "livemode",
            "created",
            "received_at",
            "status",
            "outcome",
            "outcome_detail",
            "attempts",
            "due_at",
            "finished_at",
            "error_code",
            "error_message",
            "order_id",
        ]
        read_only_fields = fields


class StripeEventDetailSerializer(StripeEventSerializer):
    payload = serializers.SerializerMethodField()
    headers = serializers.JSONField(read_only=True)

    class Meta(StripeEventSerializer.Meta):
        fields = [*StripeEventSerializer.Meta.fields, "headers", "payload"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_payload(self, event: StripeEvent) -> Any:
        import json

        return json.loads(event.raw_body)


class WebhookReceiptSerializer(Serializer):
    received = serializers.BooleanField()
    duplicate = serializers.BooleanField()
    id = serializers.UUIDField()


PAYMENT_STATUSES = PaymentStatus
