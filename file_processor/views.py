"""REST views of the File Processor API: parse, call one service or selector, render."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_app.authentication import ApiKeyAuthentication
from common.asgi import streamed_body_parseable
from common.errors import FieldError, ValidationFailed

from . import selectors, services
from .converters import supported_matrix
from .download import download_response
from .inspection import upload_limit_error
from .models import StoredFile
from .serializers import (
    ConversionJobSerializer,
    ConversionMatrixSerializer,
    ConvertRequestSerializer,
    SignedUrlRequestSerializer,
    SignedUrlSerializer,
    StoredFileSerializer,
    UploadSerializer,
    WebhookSecretSerializer,
)
from .uploads import HashingUploadHandler

TAGS = ["files"]

FILE_EXAMPLE = OpenApiExample(
    "A stored file",
    value={
        "id": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "original_name": "holiday.jpg",
        "size": 2483911,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "mime_type": "image/jpeg",
        "declared_mime_type": "image/jpeg",
        "origin": "upload",
        "metadata": {"width": 4000, "height": 3000, "format": "JPEG"},
        "created_at": "2026-11-27T10:00:00Z",
        "expires_at": "2026-12-04T10:00:00Z",
        "url": "/api/v1/files/3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b/download",
    },
    response_only=True,
)
JOB_EXAMPLE = OpenApiExample(
    "A conversion job",
    value={
        "id": "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
        "file_id": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "target_format": "webp",
        "options": {"width": 1024, "fit": "thumbnail", "quality": 85, "strip_metadata": True},
        "status": "processing",
        "progress": 30,
        "attempts": 1,
        "error": None,
        "output_file_id": None,
        "download_url": None,
        "callback_url": "https://example.com/hooks/files",
        "created_at": "2026-11-27T10:00:01Z",
        "started_at": "2026-11-27T10:00:01Z",
        "finished_at": None,
    },
    response_only=True,
)


def _base_url(request: Request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


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


# What a signed-URL upload (PUT, or S3 completion) can answer besides the platform's own errors.
DIRECT_UPLOAD_ERRORS = {
    400: OpenApiResponse(description="`size_mismatch`: the body is not exactly the signed size."),
    403: OpenApiResponse(description="`upload_url_invalid`: the token is not one we signed."),
    409: OpenApiResponse(description="`upload_url_used`: each URL works once."),
    410: OpenApiResponse(description="`upload_url_expired`."),
    413: OpenApiResponse(description="Larger than the signed size."),
    415: OpenApiResponse(description="Type not accepted, declared type mismatch, or a polyglot."),
    422: OpenApiResponse(description="Decompression bomb, ZIP bomb or corrupt content."),
}
# What starting a conversion can answer besides the platform's own errors.
CONVERT_ERRORS = {
    404: OpenApiResponse(description="`file_not_found`: no such file of yours."),
    422: OpenApiResponse(description="Unsupported conversion, or a callback URL that is not allowed."),
}


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
        response = Response(StoredFileSerializer(stored).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/files/{stored.pk}"
        return response


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
        response = Response(StoredFileSerializer(stored).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/files/{stored.pk}"
        return response


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
        response = Response(StoredFileSerializer(stored).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/files/{stored.pk}"
        return response


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


class ConversionMatrixView(APIView):
    @extend_schema(
        summary="The supported conversions",
        description="Each accepted source type with its target formats and each target's option schema (JSON Schema).",
        tags=TAGS,
        responses={200: ConversionMatrixSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response({"conversions": supported_matrix()})


class ConvertView(APIView):
    @extend_schema(
        summary="Convert one of my files (asynchronous)",
        description=(
            "Queues a job and answers 202 with it (`queued`). Follow it with GET /jobs/{id}, GET /{file_id}/status, "
            "the notification stream (`file.conversion.*` events, then a `file.converted` / "
            "`file.conversion_failed` notification) or a `callback_url` (Standard Webhooks, SSRF-guarded). "
            "An unsupported pair is 422 `unsupported_conversion` naming the supported targets."
        ),
        tags=TAGS,
        request=ConvertRequestSerializer,
        responses={202: ConversionJobSerializer, **CONVERT_ERRORS},
        examples=[
            OpenApiExample(
                "Thumbnail",
                value={
                    "file_id": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
                    "target_format": "webp",
                    "options": {"width": 1024},
                    "callback_url": "https://example.com/hooks/files",
                },
                request_only=True,
            ),
            JOB_EXAMPLE,
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = ConvertRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.conversion_start(user=request.user, **serializer.validated_data)
        response = Response(ConversionJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/files/jobs/{job.pk}"
        return response


class JobDetailView(APIView):
    @extend_schema(
        summary="A conversion job", tags=TAGS, responses={200: ConversionJobSerializer}, examples=[JOB_EXAMPLE]
    )
    def get(self, request: Request, pk: Any) -> Response:
        return Response(ConversionJobSerializer(selectors.job_get(user=request.user, job_id=pk)).data)


class FileStatusView(APIView):
    @extend_schema(
        summary="The latest conversion job of one of my files",
        tags=TAGS,
        responses={200: ConversionJobSerializer},
        examples=[JOB_EXAMPLE],
    )
    def get(self, request: Request, pk: Any) -> Response:
        return Response(ConversionJobSerializer(selectors.job_latest_for_file(user=request.user, file_id=pk)).data)


class WebhookSecretView(APIView):
    @extend_schema(
        summary="My Standard Webhooks secret",
        description="Verifies completion webhooks sent to my callback URLs; signs my inbound /webhooks/convert calls.",
        tags=TAGS,
        responses={200: WebhookSecretSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response({"secret": services.webhook_secret_for(user_id=request.user.pk)})


class InboundConvertView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    parser_classes: list[Any] = []  # the raw body is what the signature covers

    @extend_schema(
        summary="Start a conversion from automation (API key + Standard Webhooks signature)",
        description=(
            "`X-API-Key` names the user; `webhook-id`, `webhook-timestamp` and `webhook-signature` must sign the raw "
            "body with that user's secret (GET /webhooks/secret), within 5 minutes. The body is a convert request. "
            "A repeated `webhook-id` answers 200 with the job it started (idempotent); a new one 202."
        ),
        tags=TAGS,
        request=ConvertRequestSerializer,
        responses={
            202: ConversionJobSerializer,
            200: ConversionJobSerializer,
            401: OpenApiResponse(description="Missing/invalid API key or signature."),
            **CONVERT_ERRORS,
        },
        examples=[JOB_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        job, created = services.inbound_convert(user=request.user, body=request.body, headers=headers)
        return Response(
            ConversionJobSerializer(job).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )
