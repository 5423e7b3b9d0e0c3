"""Uploads: multipart through the API, and signed direct uploads (PUT, or S3 with completion)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.asgi import streamed_body_parseable
from common.errors import FieldError, ValidationFailed

from .. import services
from ..inspection import upload_limit_error
from ..models import StoredFile
from ..serializers import (
    SignedUrlRequestSerializer,
    SignedUrlSerializer,
    StoredFileSerializer,
    UploadSerializer,
)
from ..uploads import HashingUploadHandler
from ._common import DIRECT_UPLOAD_ERRORS, FILE_EXAMPLE, TAGS, _base_url


class UploadView(APIView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before authentication: a session-authenticated request's CSRF check parses the body.
        self.upload_handler = HashingUploadHandler(request, max_bytes=int(settings.FILES_MAX_UPLOAD_BYTES))
        request.upload_handlers = [self.upload_handler]
        streamed_body_parseable(request)
        return super().initialize_request(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        # The body failed mid-file (the client went away, stalled, or sent past the route's limit): Django's
        # parser closes only the files it finished, so the partial one is removed here, not when collected.
        self.upload_handler.abort()
        return super().handle_exception(exc)

    @extend_schema(
        summary="Upload a file (multipart, field `file`)",
        description=(
            "Streamed to storage with its SHA-256 computed on the way; the type is detected from the content "
            "(libmagic) and must be on the allow-list (415 otherwise; 415 `content_type_mismatch` when the "
            "declared type disagrees). Larger than FILES_MAX_UPLOAD_BYTES: 413 and nothing is kept. Images "
            "past the pixel limit and over-expanding XLSX are 422. The filename is kept only as sanitised metadata."
        ),
        tags=TAGS,
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: StoredFileSerializer,
            413: OpenApiResponse(description="Larger than the upload limit."),
            415: OpenApiResponse(description="Type not accepted, declared type mismatch, or a polyglot."),
            422: OpenApiResponse(description="Decompression bomb, ZIP bomb or corrupt content."),
        },
        examples=[FILE_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        handler = self.upload_handler
        files = request.FILES
        if handler.too_large:
            raise upload_limit_error(int(settings.FILES_MAX_UPLOAD_BYTES))
        upload = files.get("file")
        if upload is None or handler.files_seen != 1:
            for extra in files.values():
                extra.close()
            raise ValidationFailed(
                "Send exactly one file in the multipart field `file`.",
                errors=[FieldError(attr="file", code="required", detail="Exactly one file is required.")],
            )
        with upload:
            stored = services.file_store(
                owner=request.user,
                fp=upload,
                size=upload.size or 0,
                sha256=upload.sha256,
                head=upload.head,
                filename=upload.name or "",
                declared_type=upload.content_type or "",
            )
        return _created(stored)


class SignedUrlView(APIView):
    @extend_schema(
        summary="Get a signed direct-upload URL",
        description=(
            "A single-use URL, valid FILES_SIGNED_UPLOAD_TTL_SECONDS, for one object of the declared size and "
            "type. Locally: `PUT` the raw bytes to `url` with the given headers (Uppy XHR/S3 `{method,url,fields,"
            "headers}` shape). With S3 configured: a presigned `POST` with `fields` and a content-length range."
        ),
        tags=TAGS,
        request=SignedUrlRequestSerializer,
        responses={201: SignedUrlSerializer, 413: OpenApiResponse(description="Declared size over the limit.")},
        examples=[
            OpenApiExample(
                "Ask", value={"filename": "report.md", "content_type": "text/markdown", "size": 5120}, request_only=True
            ),
            OpenApiExample(
                "Local PUT",
                value={
                    "method": "PUT",
                    "url": "http://127.0.0.1:8000/api/v1/files/uploads/direct/5c0f...:1uX...:abc...",
                    "fields": {},
                    "headers": {"Content-Type": "text/markdown"},
                    "expires_at": "2026-11-27T10:15:00Z",
                    "max_size": 5120,
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = SignedUrlRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = services.direct_upload_start(
            user=request.user, base_url=_base_url(request), **serializer.validated_data
        )
        return Response(SignedUrlSerializer(answer).data, status=status.HTTP_201_CREATED)


class DirectUploadView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Upload to a signed URL (the token is the credential)",
        description=(
            "The raw bytes, exactly the signed size. Works once (409 `upload_url_used` after), expires (410), "
            "and runs the same checks as a multipart upload. Answers with the stored file (`url` is its download link)."
        ),
        tags=TAGS,
        request={"application/octet-stream": {"type": "string", "format": "binary"}},
        responses={201: StoredFileSerializer, **DIRECT_UPLOAD_ERRORS},
        examples=[FILE_EXAMPLE],
    )
    def put(self, request: Request, token: str) -> Response:
        raw = request._request
        declared = raw.META.get("CONTENT_LENGTH")
        stored = services.direct_upload_receive(
            signed=token, read=raw.read, content_length=int(declared) if declared else None
        )
        return _created(stored)


class DirectUploadCompleteView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Register an S3 direct upload (the token is the credential)",
        description=(
            "S3 mode only (409 `not_s3` otherwise): after POSTing to the presigned form, call this with the same "
            "token. The object is checked like any upload and moved to a server-chosen key; works once."
        ),
        tags=TAGS,
        request=None,
        responses={
            201: StoredFileSerializer,
            **DIRECT_UPLOAD_ERRORS,
            409: OpenApiResponse(description="`not_s3` (local storage), `upload_missing`, or `upload_url_used`."),
        },
        examples=[FILE_EXAMPLE],
    )
    def post(self, request: Request, token: str) -> Response:
        stored = services.direct_upload_complete(signed=token)
        return _created(stored)


def _created(stored: StoredFile) -> Response:
    """201 with the stored file and its `Location`: every way of uploading answers alike."""
    response = Response(StoredFileSerializer(stored).data, status=status.HTTP_201_CREATED)
    response["Location"] = f"/api/v1/files/{stored.pk}"
    return response
