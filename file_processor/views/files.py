"""Listing, showing, downloading and the status of one's files."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..download import download_response
from ..models import StoredFile
from ..serializers import (
    ConversionJobSerializer,
    StoredFileSerializer,
)
from ._common import FILE_EXAMPLE, JOB_EXAMPLE, TAGS


@extend_schema_view(
    get=extend_schema(
        summary="List my files, newest first",
        description="Uploads and conversion outputs. Keyset-paginated (`limit`, `cursor`, `sort=created_at`).",
        tags=TAGS,
        examples=[FILE_EXAMPLE],
    )
)
class FileListView(generics.ListAPIView[StoredFile]):
    serializer_class = StoredFileSerializer
    ordering_fields = ["created_at"]
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[StoredFile]:
        if getattr(self, "swagger_fake_view", False):
            return StoredFile.objects.none()
        return selectors.file_list(user=self.request.user)


@extend_schema_view(
    get=extend_schema(summary="Show one of my files", tags=TAGS, examples=[FILE_EXAMPLE]),
    delete=extend_schema(summary="Delete one of my files (and its bytes)", tags=TAGS, responses={204: None}),
)
class FileDetailView(APIView):
    serializer_class = StoredFileSerializer

    def get(self, request: Request, pk: Any) -> Response:
        return Response(StoredFileSerializer(selectors.file_get(user=request.user, file_id=pk)).data)

    def delete(self, request: Request, pk: Any) -> Response:
        services.file_delete(user=request.user, file_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnyAccept(BaseContentNegotiation):
    """Downloads answer with the file's own type whatever `Accept` says (errors stay problem+json)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class DownloadView(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(
        summary="Download one of my files",
        description=(
            "Streamed with its type, Content-Length, `Accept-Ranges: bytes` and an RFC 6266 Content-Disposition "
            "(`filename*`). A single `Range: bytes=a-b` gives 206 with Content-Range; a range past the end is 416."
        ),
        tags=TAGS,
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="The file."),
            (206, "application/octet-stream"): OpenApiResponse(description="The requested byte range."),
            416: OpenApiResponse(description="Range not satisfiable."),
        },
    )
    def get(self, request: Request, pk: Any) -> HttpResponseBase:
        stored = selectors.file_get(user=request.user, file_id=pk)
        return download_response(stored, request.headers.get("Range"))


class FileStatusView(APIView):
    @extend_schema(
        summary="The latest conversion job of one of my files",
        tags=TAGS,
        responses={200: ConversionJobSerializer},
        examples=[JOB_EXAMPLE],
    )
    def get(self, request: Request, pk: Any) -> Response:
        return Response(ConversionJobSerializer(selectors.job_latest_for_file(user=request.user, file_id=pk)).data)
