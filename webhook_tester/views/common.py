"""What the API views share: who may read a bin, and the OpenAPI examples."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from common.errors import Unauthenticated

from .. import selectors
from ..models import Bin

TAGS = ["bins"]
READ_KEY_HEADER = "X-Bin-Key"

READ_KEY_PARAMETER = OpenApiParameter(
    READ_KEY_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A bin's read key: lets someone other than the owner read this bin (no account needed).",
)

BIN_ID = "0b5f6a52-3f3c-4c1e-9d43-5d0f6f7a0c11"
EVENT_ID = "7a0f2c1e-8d9b-4c57-a3a1-2f6b9e0d4c33"
BIN_EXAMPLE = OpenApiExample(
    "A bin",
    value={
        "id": BIN_ID,
        "name": "GitHub pushes",
        "url": f"http://127.0.0.1:8000/hooks/{BIN_ID}",
        "inspector_url": f"http://127.0.0.1:8000/bins/{BIN_ID}",
        "created_at": "2026-11-27T08:00:00.123456Z",
        "updated_at": "2026-11-27T08:00:00.123456Z",
        "expires_at": "2026-12-04T08:00:00.123456Z",
        "event_cap": 500,
        "event_count": 3,
        "response": {
            "status": 202,
            "headers": {"X-Hook": "ok"},
            "body": '{"ok": true}',
            "content_type": "application/json",
            "delay_ms": 0,
        },
        "replay_url": "https://example.com/webhooks",
        "notify": False,
        "has_read_key": False,
    },
    response_only=True,
)
EVENT_SUMMARY = {
    "id": EVENT_ID,
    "bin_id": BIN_ID,
    "method": "POST",
    "path": f"/hooks/{BIN_ID}/github",
    "sub_path": "/github",
    "query_string": "delivery=1",
    "content_type": "application/json",
    "content_length": 17,
    "remote_ip": "203.0.113.7",
    "is_tls": True,
    "received_at": "2026-11-27T08:01:02.345678Z",
}
EVENT_EXAMPLE = OpenApiExample(
    "An event",
    value={
        **EVENT_SUMMARY,
        "query": [["delivery", "1"]],
        "headers": [["content-type", "application/json"], ["x-github-event", "push"]],
        "body": '{"ref": "main"}\n',
        "body_base64": "eyJyZWYiOiAibWFpbiJ9Cg==",
        "body_is_text": True,
        "form": None,
    },
    response_only=True,
)


def read_key_of(request: Request) -> str | None:
    return request.headers.get(READ_KEY_HEADER) or None


def readable_bin(request: Request, bin_id: Any) -> Bin:
    """The bin for a read: its owner, or anyone with its read key; another user's bin is 404."""
    key = read_key_of(request)
    if not key and not request.user.is_authenticated:
        raise Unauthenticated()
    return selectors.bin_get_readable(user=request.user, bin_id=bin_id, read_key=key)


class ReadableBin(BasePermission):
    """Authenticated users, or (for reads) anyone presenting `X-Bin-Key`; the view checks the bin itself."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.user and request.user.is_authenticated:
            return True
        return request.method in ("GET", "HEAD", "OPTIONS") and bool(read_key_of(request))
