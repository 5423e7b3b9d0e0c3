"""REST views of the Notifications API: parse, call one service or selector, render."""

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.strict import StrictFilterSet

from . import selectors, services
from .models import Notification
from .serializers import (
    BroadcastAcceptedSerializer,
    MarkAllReadSerializer,
    NotificationCreateSerializer,
    NotificationSerializer,
    UnreadCountSerializer,
)

TAGS = ["notifications"]

NOTIFICATION_EXAMPLE = OpenApiExample(
    "A notification",
    value={
        "id": "0b5f6a52-3f3c-4c1e-9d43-5d0f6f7a0c11",
        "seq": 42,
        "user_id": "7a0f2c1e-8d9b-4c57-a3a1-2f6b9e0d4c33",
        "kind": "order.paid",
        "title": "Order #1042 paid",
        "body": "We received 25.00 EUR.",
        "data": {"order_id": "5d2c0c7e-1f0a-4b8e-9a55-0e3f0e9b7a10"},
        "read": False,
        "read_at": None,
        "created_at": "2026-11-26T08:00:00.123456Z",
    },
    response_only=True,
)


class NotificationFilter(StrictFilterSet):
    unread = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_unread",
        label="true: only unread; false: only read; absent: all.",
    )
    kind = django_filters.CharFilter(field_name="kind", label="Only this kind, e.g. `order.paid`.")

    class Meta:
        model = Notification
        fields = ["unread", "kind"]

    def filter_unread(self, queryset: QuerySet[Notification], name: str, value: str) -> QuerySet[Notification]:
        return selectors.with_read_state(queryset, unread=value == "true")


@extend_schema_view(
    get=extend_schema(
        summary="List my notifications, newest first",
        description=(
            "Keyset-paginated by `seq` (newest first by default; `sort=seq` gives oldest first). "
            "Filter with `unread=true` and `kind=`."
        ),
        tags=TAGS,
        examples=[NOTIFICATION_EXAMPLE],
    ),
    post=extend_schema(
        summary="Create a notification (or, staff, broadcast one)",
        description=(
            "Stores the notification and pushes it to the recipient's WebSocket/SSE connections after "
            "commit. `user_id` defaults to the caller; only staff may name another user (403 otherwise). "
            'Staff may send `"broadcast": true` to notify every active user: the write is queued and '
            "answered with 202."
        ),
        tags=TAGS,
        request=NotificationCreateSerializer,
        responses={
            201: NotificationSerializer,
            202: OpenApiResponse(BroadcastAcceptedSerializer, description="Broadcast queued (staff only)."),
            403: OpenApiResponse(description="Targeting another user or broadcasting without staff rights."),
        },
        examples=[
            OpenApiExample(
                "To myself",
                value={"kind": "system.message", "title": "Hello", "body": "First notification", "data": {"a": 1}},
                request_only=True,
            ),
            OpenApiExample(
                "Staff: to another user",
                value={"user_id": "7a0f2c1e-8d9b-4c57-a3a1-2f6b9e0d4c33", "kind": "order.paid", "title": "Paid"},
                request_only=True,
            ),
            OpenApiExample(
                "Staff: broadcast",
                value={"broadcast": True, "kind": "system.message", "title": "Maintenance at 22:00 UTC"},
                request_only=True,
            ),
            NOTIFICATION_EXAMPLE,
            OpenApiExample(
                "Broadcast queued",
                value={"broadcast": True, "status": "queued"},
                response_only=True,
                status_codes=["202"],
            ),
        ],
    ),
)
class NotificationListCreateView(generics.ListCreateAPIView[Notification]):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["seq"]
    default_ordering = "-seq"

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        return selectors.notification_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = NotificationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        result = services.notification_create(
            actor=request.user,
            kind=attrs["kind"],
            title=attrs["title"],
            body=attrs["body"],
            data=attrs["data"],
            user_id=attrs["user_id"],
            broadcast=attrs["broadcast"],
        )
        if isinstance(result, Notification):
            return Response(NotificationSerializer(result).data, status=status.HTTP_201_CREATED)
        return Response(
            BroadcastAcceptedSerializer({"broadcast": True, "status": "queued"}).data, status=status.HTTP_202_ACCEPTED
        )


class NotificationReadView(APIView):
    @extend_schema(
        summary="Mark one notification read",
        description="Idempotent; the first read time is kept. Another user's notification is 404.",
        tags=TAGS,
        request=None,
        responses={200: NotificationSerializer},
        examples=[NOTIFICATION_EXAMPLE],
    )
    def post(self, request: Request, pk: Any) -> Response:
        notification = services.notification_mark_read(user=request.user, notification_id=pk)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllView(APIView):
    @extend_schema(
        summary="Mark all my notifications read",
        description="One UPDATE; returns how many changed.",
        tags=TAGS,
        request=None,
        responses={200: MarkAllReadSerializer},
        examples=[OpenApiExample("Marked", value={"marked_read": 3}, response_only=True)],
    )
    def post(self, request: Request) -> Response:
        changed = services.notification_mark_all_read(user=request.user)
        return Response(MarkAllReadSerializer({"marked_read": changed}).data)


class NotificationUnreadCountView(APIView):
    @extend_schema(
        summary="Count my unread notifications",
        description="Exact, uncapped.",
        tags=TAGS,
        responses={200: UnreadCountSerializer},
        examples=[OpenApiExample("Count", value={"unread_count": 2}, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        return Response(
            UnreadCountSerializer({"unread_count": selectors.notification_unread_count(user=request.user)}).data
        )
