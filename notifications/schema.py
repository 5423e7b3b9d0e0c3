"""OpenAPI documentation for the endpoints that are not DRF views (the SSE stream)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .sse import MAX_POSITION

SSE_DESCRIPTION = """\
A `text/event-stream` of the caller's notifications (Server-Sent Events), for `EventSource` or `curl -N`.

* Each notification is an event `notification` whose `id:` is its `seq` and whose `data:` is the
  notification as JSON (the same object the list returns). Read receipts arrive as event `read`
  (`{"ids": [...], "all": false, "count": 1}`), without an id.
* On reconnect the browser sends `Last-Event-ID`; everything after it is replayed from the database,
  then live events follow, with no gap and no duplicate. For the first connection pass `?after=<seq>`
  (`after=0` replays the whole history). Without either the stream starts with new notifications.
* The stream opens with `retry: <ms>` advice and sends a `: heartbeat` comment every
  NOTIFICATIONS_SSE_HEARTBEAT_SECONDS (15) seconds. Responses carry `Cache-Control: no-cache` and
  `X-Accel-Buffering: no`; do not put the route behind anything that buffers or compresses.
* Authenticated with `Authorization: Bearer <access>` or the session cookie (`EventSource` with
  `withCredentials`). An unauthenticated request is 401 problem+json.
* Open streams are capped per user (STREAMS_MAX_PER_USER, 20) and per client IP (STREAMS_MAX_PER_IP,
  100), WebSockets included: past a cap the answer is 429 problem+json `too_many_streams` with
  `Retry-After`. With Redis unreachable it is 503 `service_unavailable` before any event.
"""

SSE_EXAMPLE = (
    "retry: 3000\n\n"
    "id: 41\nevent: notification\n"
    'data: {"id":"0b5f6a52-3f3c-4c1e-9d43-5d0f6f7a0c11","seq":41,"kind":"system.message","title":"Hi",...}\n\n'
    ": heartbeat\n\n"
)


class NotificationEventsSchemaView(APIView):
    """Documentation only: the URL is served by the async view `notifications.sse.notification_events`."""

    @extend_schema(
        operation_id="notifications_events",
        summary="Stream my notifications (Server-Sent Events)",
        description=SSE_DESCRIPTION,
        tags=["notifications"],
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                {"type": "string", "pattern": "^[0-9]{1,18}$"},
                OpenApiParameter.HEADER,
                description=(
                    "Resume after this seq (sent by browsers on reconnect): ASCII digits, 0 to "
                    f"{MAX_POSITION}. Wins over `after`."
                ),
            ),
            OpenApiParameter(
                "after",
                {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_POSITION},
                OpenApiParameter.QUERY,
                description="Resume after this seq (first connection); ASCII digits, not empty.",
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="An endless event stream.",
                examples=[OpenApiExample("Stream", value=SSE_EXAMPLE)],
            ),
            400: OpenApiResponse(
                description="Last-Event-ID or `after` is not a whole number in range, or `after` is empty "
                "(`invalid_event_id`)."
            ),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # pragma: no cover - never routed
        raise NotImplementedError
