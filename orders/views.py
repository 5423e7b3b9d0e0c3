"""REST views of the Orders API: parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_app.permissions import IsStaff
from common.errors import NotFound
from common.net import client_ip
from common.ratelimit import rate_limit_policy

from . import selectors, services
from .filters import OrderFilter, StripeEventFilter
from .models import Order, StripeEvent
from .serializers import (
    OrderCreateSerializer,
    OrderSerializer,
    OrderStatusChangeSerializer,
    OrderUpdateSerializer,
    StripeEventDetailSerializer,
    StripeEventSerializer,
    WebhookReceiptSerializer,
)

TAGS = ["orders"]
CREATE_ENDPOINT = "POST /api/v1/orders"

ORDER_EXAMPLE = OpenApiExample(
    "An order",
    value={
        "id": "5d2c0c7e-1f0a-4b8e-9a55-0e3f0e9b7a10",
        "number": "ORD-7KQ3MZ2D9X",
        "owner_id": "7a0f2c1e-8d9b-4c57-a3a1-2f6b9e0d4c33",
        "status": "pending",
        "payment_status": "unpaid",
        "currency": "usd",
        "currency_exponent": 2,
        "subtotal": 3000,
        "tax": 0,
        "total": 3000,
        "total_display": "30.00",
        "amount_refunded": 0,
        "customer_email": "ada@example.com",
        "shipping_notes": "",
        "metadata": {"campaign": "winter"},
        "stripe_payment_intent_id": "",
        "items": [{"sku": "TSHIRT-M", "name": "T-shirt", "quantity": 2, "unit_amount": 1500, "line_total": 3000}],
        "created_at": "2026-11-27T08:00:00.123456Z",
        "updated_at": "2026-11-27T08:00:00.123456Z",
    },
    response_only=True,
)
EVENT_EXAMPLE = OpenApiExample(
    "A processed event",
    value={
        "id": "0b5f6a52-3f3c-4c1e-9d43-5d0f6f7a0c11",
        "event_id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        "type": "payment_intent.succeeded",
        "livemode": False,
        "created": "2026-11-27T08:00:00Z",
        "received_at": "2026-11-27T08:00:00.412000Z",
        "status": "succeeded",
        "outcome": "processed",
        "outcome_detail": "",
        "attempts": 1,
        "due_at": "2026-11-27T08:00:00.412000Z",
        "finished_at": "2026-11-27T08:00:00.530000Z",
        "error_code": "",
        "error_message": "",
        "order_id": "5d2c0c7e-1f0a-4b8e-9a55-0e3f0e9b7a10",
    },
    response_only=True,
)
HISTORY_EXAMPLE = OpenApiExample(
    "Paid by a webhook",
    value=[
        {
            "field": "status",
            "from_status": "pending",
            "to_status": "paid",
            "cause": "webhook",
            "stripe_event_id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
            "actor_id": None,
            "created_at": "2026-11-27T08:00:00.530000Z",
        }
    ],
    response_only=True,
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 printable characters, unique per request you mean once (a UUID). A repeat with the same "
        "body within 24 h replays the first response (with `Idempotent-Replayed: true`); a different body is "
        "422 `idempotency_key_mismatch`; a repeat while the first is running is 409 `idempotency_key_in_use`."
    ),
)


@extend_schema_view(
    get=extend_schema(
        summary="List orders",
        description=(
            "Owners see their own orders, staff every order. Keyset pagination for every sort "
            "(`created_at`, `total`, `status`, `updated_at`, `-` for descending; ties broken by id): pages never "
            "skip or repeat a row, also while orders are being added."
        ),
        tags=TAGS,
        examples=[ORDER_EXAMPLE],
    ),
    post=extend_schema(
        summary="Create an order",
        description=(
            "Totals are computed from the lines (integer minor units of the ISO 4217 currency: JPY has no "
            "decimals, KWD three). A unit price or total above ORDERS_MAX_AMOUNT is 400 `amount_too_large`."
        ),
        tags=TAGS,
        parameters=[IDEMPOTENCY_HEADER],
        request=OrderCreateSerializer,
        responses={
            201: OrderSerializer,
            400: OpenApiResponse(description="validation_error, amount_too_large, invalid_currency, ..."),
            409: OpenApiResponse(description="idempotency_key_in_use"),
            422: OpenApiResponse(description="idempotency_key_mismatch"),
        },
        examples=[
            OpenApiExample(
                "Two T-shirts",
                value={
                    "currency": "usd",
                    "customer_email": "ada@example.com",
                    "items": [{"sku": "TSHIRT-M", "name": "T-shirt", "quantity": 2, "unit_amount": 1500}],
                    "metadata": {"campaign": "winter"},
                },
                request_only=True,
            ),
            ORDER_EXAMPLE,
        ],
    ),
)
class OrderListCreateView(generics.ListCreateAPIView[Order]):
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["created_at", "total", "status", "updated_at"]
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return selectors.order_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = services.idempotency_key_parse(request.headers.get("Idempotency-Key"))
        body = request.data

        def run() -> tuple[int, Any]:
            serializer = OrderCreateSerializer(data=body)
            serializer.is_valid(raise_exception=True)
            order = services.order_create(owner=request.user, **serializer.validated_data)
            order = selectors.order_list(user=request.user).get(pk=order.pk)
            return status.HTTP_201_CREATED, OrderSerializer(order).data

        result = services.idempotent_run(owner=request.user, endpoint=CREATE_ENDPOINT, key=key, body=body, run=run)
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        return Response(result.body, status=result.status, headers=headers)


class OrderDetailView(APIView):
    @extend_schema(summary="Get an order", tags=TAGS, responses={200: OrderSerializer}, examples=[ORDER_EXAMPLE])
    def get(self, request: Request, pk: Any) -> Response:
        order = selectors.order_visible(user=request.user, order_id=pk)
        if order is None:
            raise NotFound("No such order.")
        return Response(OrderSerializer(order).data)

    @extend_schema(
        summary="Update an order",
        description=(
            "Changes `metadata` (replaced whole), `customer_email`, `shipping_notes`, and `status` only through "
            "legal transitions (409 `illegal_transition` names the current status)."
        ),
        tags=TAGS,
        request=OrderUpdateSerializer,
        responses={200: OrderSerializer, 409: OpenApiResponse(description="illegal_transition")},
        examples=[
            OpenApiExample("New notes", value={"shipping_notes": "Leave at the door"}, request_only=True),
            ORDER_EXAMPLE,
        ],
    )
    def patch(self, request: Request, pk: Any) -> Response:
        serializer = OrderUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.order_update(user=request.user, order_id=pk, changes=serializer.validated_data)
        order = selectors.order_visible(user=request.user, order_id=pk)
        return Response(OrderSerializer(order).data)


class OrderCancelView(APIView):
    @extend_schema(
        summary="Cancel an order",
        description="Pending or payment-failed orders only; otherwise 409 `illegal_transition`.",
        tags=TAGS,
        request=None,
        responses={200: OrderSerializer, 409: OpenApiResponse(description="illegal_transition")},
        examples=[ORDER_EXAMPLE],
    )
    def post(self, request: Request, pk: Any) -> Response:
        services.order_cancel(user=request.user, order_id=pk)
        return Response(OrderSerializer(selectors.order_visible(user=request.user, order_id=pk)).data)


class OrderHistoryView(generics.ListAPIView[Any]):
    serializer_class = OrderStatusChangeSerializer
    pagination_class = None

    @extend_schema(summary="An order's status history", tags=TAGS, examples=[HISTORY_EXAMPLE])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        order = selectors.order_visible(user=self.request.user, order_id=self.kwargs["pk"])
        if order is None:
            raise NotFound("No such order.")
        return selectors.order_history(order=order)


@rate_limit_policy("stripe-webhook", rate="ORDERS_STRIPE_WEBHOOK_RATE", key="ip")
class StripeWebhookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Stripe webhook intake",
        description=(
            "Public, signed by Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` over `<t>.<raw body>` with a secret "
            "in STRIPE_WEBHOOK_SECRET, within STRIPE_WEBHOOK_TOLERANCE_SECONDS in either direction. A bad or "
            "missing signature is 400 and nothing is stored. A verified event is stored and answered 200 at once "
            "(a repeat of the same event id: `duplicate: true`); it is processed in the background."
        ),
        tags=TAGS,
        auth=[{}],  # type: ignore[list-item]  # public (security: [{}]): Stripe signs the body instead
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: WebhookReceiptSerializer, 400: OpenApiResponse(description="invalid_signature")},
        examples=[
            OpenApiExample(
                "Stored",
                value={"received": True, "duplicate": False, "id": "0b5f6a52-3f3c-4c1e-9d43-5d0f6f7a0c11"},
                response_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        receipt = services.stripe_event_receive(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature"),
            headers=request.headers,
            ip=client_ip(request._request),  # the Django request (DRF's wrapper is not an HttpRequest)
        )
        return Response({"received": True, "duplicate": receipt.duplicate, "id": str(receipt.event.pk)})


class StripeEventListView(generics.ListAPIView[StripeEvent]):
    permission_classes = [IsStaff]
    serializer_class = StripeEventSerializer
    filterset_class = StripeEventFilter
    ordering_fields = ["received_at"]
    default_ordering = "-received_at"

    @extend_schema(summary="List received Stripe events (staff)", tags=TAGS, examples=[EVENT_EXAMPLE])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[StripeEvent]:
        return selectors.stripe_event_list()


class StripeEventDetailView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="One received Stripe event with its payload (staff)",
        tags=TAGS,
        responses={200: StripeEventDetailSerializer},
        examples=[EVENT_EXAMPLE],
    )
    def get(self, request: Request, pk: Any) -> Response:
        event = selectors.stripe_event_get(event_pk=pk)
        if event is None:
            raise NotFound("No such webhook event.")
        return Response(StripeEventDetailSerializer(event).data)


class StripeEventRetryView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Process a Stripe event again (staff)",
        description="Queues the event again (any status but `processing`, which is 409 `event_processing`).",
        tags=TAGS,
        request=None,
        responses={202: StripeEventSerializer, 409: OpenApiResponse(description="event_processing")},
        examples=[EVENT_EXAMPLE],
    )
    def post(self, request: Request, pk: Any) -> Response:
        event = services.stripe_event_retry(event_pk=pk)
        event.refresh_from_db()
        return Response(StripeEventSerializer(event).data, status=status.HTTP_202_ACCEPTED)
