"""What the File Processor's views share: the OpenAPI tag, examples and error tables, the base URL."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework.request import Request

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
