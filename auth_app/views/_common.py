"""Helpers shared by the Auth API views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample
from rest_framework.request import Request

from common.net import client_ip

TAGS = ["auth"]
# Security requirement of operations that only a Bearer access token may call (not API keys or cookies).
BEARER_ONLY: list[dict[str, list[str]]] = [{"bearerAuth": []}]

EXAMPLE_ACCESS = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl"
EXAMPLE_REFRESH = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"
EXAMPLE_USER = {
    "id": "7d0f4b4e-3c1a-4f7e-9a59-0c6a8f1b2d3e",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "is_staff": False,
    "created_at": "2026-01-01T12:00:00Z",
    "updated_at": "2026-01-01T12:00:00Z",
}
EXAMPLE_DEVICE_TOKEN = "eyJ1IjoiN2QwZjRiNGUiLCJkIjoiYzNmOSIsImYiOiI5YTFiIn0:1vKc2x:c2lnbmF0dXJl"  # noqa: S105 - a documentation example
EXAMPLE_TOKENS = {"access": EXAMPLE_ACCESS, "refresh": EXAMPLE_REFRESH, "token_type": "Bearer", "expires_in": 900}


def example(name: str, value: Any, *, request: bool = False, status: str | None = None) -> OpenApiExample:
    return OpenApiExample(
        name,
        value=value,
        request_only=request,
        response_only=not request,
        status_codes=[status] if status else None,
    )


def client_meta(request: Request) -> dict[str, Any]:
    """The user agent and client IP recorded on a new session."""
    return {"user_agent": request.META.get("HTTP_USER_AGENT", ""), "ip_address": client_ip(request._request)}
