"""Permission helpers for every app's views."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .tokens import TokenClaims


def bearer_claims(request: Request) -> TokenClaims | None:
    """The verified access-token claims of a Bearer request (None for API key or session requests)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, TokenClaims) else None


class IsBearerAuthenticated(BasePermission):
    """Only a signed-in person (Bearer access token): API keys and sessions are refused with 403.

    Used where credentials are managed (logout, password, sessions, API keys, profile edits), so a
    leaked API key cannot mint more keys or take over the account.
    """

    message = "This action needs a Bearer access token; API keys cannot manage credentials."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and bearer_claims(request) is not None)


class IsBearerForWrites(IsBearerAuthenticated):
    """Reads with any credential; writes (POST, PATCH, DELETE, ...) need a Bearer token."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


class IsStaff(BasePermission):
    """Staff users only."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
