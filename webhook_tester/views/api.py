"""REST views of the Webhook Tester API: parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import FieldError, ValidationFailed
from common.serialization import parse_datetime
from common.strict import query_param

from .. import selectors, services
from ..models import Bin, CapturedEvent
from ..serializers import (
    BinCreatedSerializer,
    BinSerializer,
    BinWriteSerializer,
    ClearedSerializer,
    EventSerializer,
    EventSummarySerializer,
    ReplayRequestSerializer,
    ReplaySerializer,
)
from .common import (
    BIN_EXAMPLE,
    EVENT_EXAMPLE,
    EVENT_ID,
    EVENT_SUMMARY,
    READ_KEY_PARAMETER,
    TAGS,
    ReadableBin,
    readable_bin,
)

WRITE_EXAMPLE = OpenApiExample(
    "A bin with a custom response",
    value={
        "name": "GitHub pushes",
        "response": {
            "status": 202,
            "headers": {"X-Hook": "ok"},
            "body": '{"ok": true}',
            "content_type": "application/json",
            "delay_ms": 250,
        },
        "notify": True,
    },
    request_only=True,
)

# The SSRF guard (common.outbound) refuses a replay target: 422 with code url_invalid, url_scheme_not_allowed,
# url_host_not_allowed or url_unresolvable.
REPLAY_URL_REFUSED = OpenApiResponse(description="`replay_url` is refused (`url_*`, common.outbound).")


def _write_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    names = ("name", "response", "event_cap", "replay_url", "notify", "read_key")
    return {name: data[name] for name in names if name in data}


@extend_schema_view(
    get=extend_schema(summary="List my bins, newest first", tags=TAGS, examples=[BIN_EXAMPLE]),
    post=extend_schema(
        summary="Create a bin",
        description=(
            "Returns the bin with its capture URL `/hooks/{id}`. Without `response` the bin answers every "
            "capture with a JSON receipt `{id, bin_id, received_at, content_length}`. With `read_key: true` "
            "the answer carries a read key once."
        ),
        tags=TAGS,
        request=BinWriteSerializer,
        responses={
            201: BinCreatedSerializer,
            409: OpenApiResponse(description="`bin_limit`: too many bins."),
            422: REPLAY_URL_REFUSED,
        },
        examples=[WRITE_EXAMPLE, BIN_EXAMPLE],
    ),
)
class BinListCreateView(generics.ListCreateAPIView[Bin]):
    serializer_class = BinSerializer
    ordering_fields = ["created_at"]
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Bin]:
        if getattr(self, "swagger_fake_view", False):
            return Bin.objects.none()
        return selectors.bin_list(owner=self.request.user).annotate(event_count=Count("events"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = BinWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bin, key = services.bin_create(owner=request.user, **_write_kwargs(serializer.validated_data))
        data = BinSerializer(bin).data | {"read_key": key}
        return Response(data, status=status.HTTP_201_CREATED)


class BinDetailView(APIView):
    permission_classes = [ReadableBin]

    @extend_schema(
        summary="Get a bin",
        description="The owner, or anyone with its read key (`X-Bin-Key`). Another user's bin is 404.",
        tags=TAGS,
        parameters=[READ_KEY_PARAMETER],
        responses={200: BinSerializer},
        examples=[BIN_EXAMPLE],
    )
    def get(self, request: Request, bin_id: Any) -> Response:
        return Response(BinSerializer(readable_bin(request, bin_id)).data)

    @extend_schema(
        summary="Change a bin",
        description="Any of the create fields; `response: null` restores the JSON receipt; `renew: true` "
        "restarts the retention period. `read_key: true` answers with a new read key once.",
        tags=TAGS,
        request=BinWriteSerializer,
        responses={200: BinCreatedSerializer, 422: REPLAY_URL_REFUSED},
        examples=[WRITE_EXAMPLE, BIN_EXAMPLE],
    )
    def patch(self, request: Request, bin_id: Any) -> Response:
        serializer = BinWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        bin, key = services.bin_update(
            owner=request.user, bin_id=bin_id, renew=attrs.get("renew", False), **_write_kwargs(attrs)
        )
        data = BinSerializer(bin).data | {"read_key": key}
        return Response(data)

    @extend_schema(summary="Delete a bin and its events", tags=TAGS, responses={204: None})
    def delete(self, request: Request, bin_id: Any) -> Response:
        services.bin_delete(owner=request.user, bin_id=bin_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


EVENT_FILTERS = [
    OpenApiParameter("method", description="Only this method, e.g. POST.", required=False),
    OpenApiParameter("path_prefix", description="Only sub-paths starting with this, e.g. /github.", required=False),
    OpenApiParameter("content_type", description="Only content types starting with this.", required=False),
    OpenApiParameter("received_after", description="ISO 8601 with offset; inclusive.", required=False),
    OpenApiParameter("received_before", description="ISO 8601 with offset; exclusive.", required=False),
    OpenApiParameter(
        "q",
        description="Text search: the body (its bytes, case-sensitive) or any header name or value (case-insensitive).",
        required=False,
    ),
    READ_KEY_PARAMETER,
]


def _datetime_param(request: Request, name: str) -> Any:
    raw = query_param(request.query_params, name)
    if not raw:
        return None
    try:
        return parse_datetime(raw)
    except ValueError:
        detail = "An ISO 8601 datetime with an offset, e.g. 2026-11-27T08:00:00Z."
        raise ValidationFailed(detail, errors=[FieldError(attr=name, code="invalid", detail=detail)]) from None


@extend_schema_view(
    get=extend_schema(
        summary="List a bin's events, newest first",
        description="Keyset-paginated; filters combine with AND. Rows carry no body or headers (get one event).",
        tags=TAGS,
        parameters=EVENT_FILTERS,
        examples=[OpenApiExample("An event", value=EVENT_SUMMARY, response_only=True)],
    ),
    delete=extend_schema(
        operation_id="bins_events_clear",
        summary="Delete all events of a bin",
        tags=TAGS,
        responses={200: ClearedSerializer},
        examples=[OpenApiExample("Cleared", value={"deleted": 12}, response_only=True)],
    ),
)
class EventListView(generics.ListAPIView[CapturedEvent]):
    serializer_class = EventSummarySerializer
    permission_classes = [ReadableBin]
    ordering_fields = ["received_at"]
    default_ordering = "-received_at"

    def get_queryset(self) -> QuerySet[CapturedEvent]:
        if getattr(self, "swagger_fake_view", False):
            return CapturedEvent.objects.none()
        params = self.request.query_params
        return selectors.event_list(
            bin=readable_bin(self.request, self.kwargs["bin_id"]),
            method=query_param(params, "method"),
            path_prefix=query_param(params, "path_prefix"),
            content_type=query_param(params, "content_type"),
            received_after=_datetime_param(self.request, "received_after"),
            received_before=_datetime_param(self.request, "received_before"),
            q=query_param(params, "q"),
        ).defer("body", "headers", "form")

    def delete(self, request: Request, bin_id: Any) -> Response:
        bin = selectors.bin_get_owned(owner=request.user, bin_id=bin_id)
        return Response(ClearedSerializer({"deleted": services.bin_events_clear(bin=bin)}).data)


class EventDetailView(APIView):
    permission_classes = [ReadableBin]

    @extend_schema(
        summary="Get one event in full",
        description="Headers in order as received; the exact body as base64 (and as text when it is UTF-8); "
        "the parsed query and, for form and multipart bodies, the parsed fields and files.",
        tags=TAGS,
        parameters=[READ_KEY_PARAMETER],
        responses={200: EventSerializer},
        examples=[EVENT_EXAMPLE],
    )
    def get(self, request: Request, bin_id: Any, event_id: Any) -> Response:
        event = selectors.event_get(bin=readable_bin(request, bin_id), event_id=event_id)
        return Response(EventSerializer(event).data)

    @extend_schema(summary="Delete one event", tags=TAGS, responses={204: None})
    def delete(self, request: Request, bin_id: Any, event_id: Any) -> Response:
        bin = selectors.bin_get_owned(owner=request.user, bin_id=bin_id)
        services.bin_event_delete(bin=bin, event_id=event_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


REPLAY_EXAMPLE = OpenApiExample(
    "A queued replay",
    value={
        "id": "5d2c0c7e-1f0a-4b8e-9a55-0e3f0e9b7a10",
        "event_id": EVENT_ID,
        "target_url": "https://example.com/webhooks",
        "status": "queued",
        "attempts": 0,
        "created_at": "2026-11-27T08:05:00.000000Z",
        "finished_at": None,
        "response_status": None,
        "response_headers": [],
        "response_body_base64": "",
        "response_truncated": False,
        "elapsed_ms": None,
        "error_code": "",
        "error_message": "",
    },
    response_only=True,
)


class ReplayView(APIView):
    @extend_schema(
        summary="Replay an event to a URL",
        description=(
            "Queues a replay (answered 202 at once; poll the replay or watch the WebSocket). The event's "
            "method, headers (hop-by-hop ones dropped) and body go to `url` (default: the bin's `replay_url`), "
            "with the captured query string when the URL has none. Private, loopback and metadata addresses "
            "are refused (422 `url_host_not_allowed`); redirects are not followed."
        ),
        tags=TAGS,
        request=ReplayRequestSerializer,
        responses={
            202: ReplaySerializer,
            422: OpenApiResponse(description="The target `url` is refused (`url_*`, common.outbound)."),
        },
        examples=[
            OpenApiExample("To a URL", value={"url": "https://example.com/webhooks"}, request_only=True),
            REPLAY_EXAMPLE,
        ],
    )
    def post(self, request: Request, bin_id: Any, event_id: Any) -> Response:
        serializer = ReplayRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bin = selectors.bin_get_owned(owner=request.user, bin_id=bin_id)
        event = selectors.event_get(bin=bin, event_id=event_id)
        replay = services.replay_create(bin=bin, event=event, target_url=serializer.validated_data.get("url"))
        replay.refresh_from_db()
        return Response(ReplaySerializer(replay).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    get=extend_schema(summary="List an event's replays, newest first", tags=TAGS, examples=[REPLAY_EXAMPLE])
)
class ReplayListView(generics.ListAPIView[Any]):
    serializer_class = ReplaySerializer
    ordering_fields = ["created_at"]
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            from ..models import ReplayAttempt

            return ReplayAttempt.objects.none()
        bin = selectors.bin_get_owned(owner=self.request.user, bin_id=self.kwargs["bin_id"])
        return selectors.replay_list(event=selectors.event_get(bin=bin, event_id=self.kwargs["event_id"]))


class ReplayDetailView(APIView):
    @extend_schema(summary="Get one replay", tags=TAGS, responses={200: ReplaySerializer}, examples=[REPLAY_EXAMPLE])
    def get(self, request: Request, bin_id: Any, event_id: Any, replay_id: Any) -> Response:
        bin = selectors.bin_get_owned(owner=request.user, bin_id=bin_id)
        event = selectors.event_get(bin=bin, event_id=event_id)
        return Response(ReplaySerializer(selectors.replay_get(event=event, replay_id=replay_id)).data)
