"""`GET .../events/{id}/export?format=curl|har|raw`."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from common.errors import FieldError, ValidationFailed
from common.strict import query_param

from .. import selectors
from ..export import event_curl, event_har
from .common import READ_KEY_PARAMETER, TAGS, ReadableBin, readable_bin

FORMATS = ("curl", "har", "raw")


class IgnoreFormatParameter(DefaultContentNegotiation):
    """`?format=` names the export here, not a DRF renderer."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


def _attachment(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


class EventExportView(APIView):
    permission_classes = [ReadableBin]
    content_negotiation_class = IgnoreFormatParameter

    @extend_schema(
        summary="Export an event as curl, HAR 1.2 or its raw body",
        description=(
            "`curl`: a shell command (text/plain) that re-sends the same method, path, query, headers and "
            "body; every argument is shell-quoted, and a body that is not UTF-8 text is piped in as base64. "
            "`target` sends it elsewhere (the sub-path and query are kept). `har`: a HAR 1.2 log with one "
            "entry. `raw`: the exact body bytes as an attachment."
        ),
        tags=TAGS,
        parameters=[
            OpenApiParameter("format", enum=list(FORMATS), default="curl", required=False),
            OpenApiParameter(
                "target", description="curl only: base URL to send to instead of this bin.", required=False
            ),
            READ_KEY_PARAMETER,
        ],
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="curl"),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="HAR 1.2"),
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="raw body"),
        },
        examples=[
            OpenApiExample(
                "curl",
                value="curl --silent --show-error --globoff --path-as-is -X POST "
                "'http://127.0.0.1:8000/hooks/0b5f6a52-3f3c-4c1e-9d43-5d0f6f7a0c11' "
                "-H 'content-type: application/json' --data-raw '{\"a\": 1}'",
                response_only=True,
                media_type="text/plain",
            ),
        ],
    )
    def get(self, request: Request, bin_id: Any, event_id: Any) -> HttpResponse:
        fmt = query_param(request.query_params, "format") or "curl"
        if fmt not in FORMATS:
            detail = f"One of {', '.join(FORMATS)}."
            raise ValidationFailed(detail, errors=[FieldError(attr="format", code="invalid_choice", detail=detail)])
        event = selectors.event_get(bin=readable_bin(request, bin_id), event_id=event_id)
        if fmt == "curl":
            target = query_param(request.query_params, "target")
            response = HttpResponse(event_curl(event, target=target) + "\n", content_type="text/plain; charset=utf-8")
            response["X-Content-Type-Options"] = "nosniff"
            return response
        if fmt == "har":
            body = json.dumps(event_har(event), ensure_ascii=False, indent=2).encode("utf-8")
            return _attachment(body, "application/json", f"event-{event.pk}.har")
        return _attachment(bytes(event.body), "application/octet-stream", f"event-{event.pk}.bin")
