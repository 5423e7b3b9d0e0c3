"""Sessions and API keys of the caller."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView, ListCreateAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.http import no_store

from .. import selectors, services
from ..authentication import JWTAuthentication
from ..models import ApiKey, AuthSession
from ..permissions import IsBearerAuthenticated, IsBearerForWrites, bearer_claims
from ..serializers import ApiKeyCreatedSerializer, ApiKeyCreateSerializer, ApiKeySerializer, SessionSerializer
from ._common import BEARER_ONLY, TAGS, example

EXAMPLE_SESSION = {
    "id": "0b9e4f5c-7a8d-4e2f-9c1b-3d5e7f9a1b2c",
    "created_at": "2026-01-01T12:00:00Z",
    "last_used_at": "2026-01-01T12:14:00Z",
    "expires_at": "2026-01-08T12:14:00Z",
    "user_agent": "curl/8.5.0",
    "ip_address": "203.0.113.7",
    "current": True,
}
EXAMPLE_KEY = {
    "id": "5f3c2b1a-0e9d-4c8b-a7f6-e5d4c3b2a190",
    "name": "CI deploys",
    "prefix": "3f9a1c0b7d2e",
    "created_at": "2026-01-01T12:00:00Z",
    "expires_at": None,
    "last_used_at": None,
}


class SessionListView(ListAPIView[AuthSession]):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsBearerAuthenticated]
    serializer_class = SessionSerializer
    ordering_fields = ["created_at", "last_used_at", "expires_at"]
    default_ordering = "-created_at"

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return AuthSession.objects.none()
        return selectors.session_list(user=self.request.user)  # type: ignore[arg-type]

    def get_serializer_context(self) -> dict[str, Any]:
        claims = bearer_claims(self.request)
        return {**super().get_serializer_context(), "current_sid": claims.sid if claims else None}

    @extend_schema(
        tags=TAGS,
        summary="List the caller's active sessions",
        description="One row per login still usable; `current` marks the session of this request.",
        examples=[example("Sessions", EXAMPLE_SESSION, status="200")],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class SessionDetailView(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsBearerAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="End one session",
        description="Revokes the session at once (its tokens stop working). Someone else's session is 404.",
        request=None,
        responses={
            204: OpenApiResponse(description="Ended."),
            404: OpenApiResponse(description="`session_not_found`: no active session of yours has this id."),
        },
    )
    def delete(self, request: Request, pk: uuid.UUID) -> Response:
        services.auth_session_revoke(session_id=pk, user=request.user, reason="user_revoked")  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyListView(ListCreateAPIView[ApiKey]):
    permission_classes = [IsBearerForWrites]
    serializer_class = ApiKeySerializer
    ordering_fields = ["created_at", "name"]
    default_ordering = "-created_at"

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.objects.none()
        return selectors.api_key_list(user=self.request.user)  # type: ignore[arg-type]

    @extend_schema(
        tags=TAGS,
        summary="List the caller's API keys",
        description="Keys not revoked (expired ones included). The secret is never shown again.",
        examples=[example("Keys", EXAMPLE_KEY, status="200")],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        summary="Create an API key",
        auth=BEARER_ONLY,  # type: ignore[arg-type]  # drf-spectacular takes requirement dicts here
        description=(
            "Returns the full key once, in `key`: send it as `X-API-Key: <key>`. Only its SHA-256 is "
            "stored. At most `AUTH_API_KEYS_MAX_PER_USER` active keys. Needs a Bearer token."
        ),
        request=ApiKeyCreateSerializer,
        responses={
            201: ApiKeyCreatedSerializer,
            409: OpenApiResponse(description="`api_key_limit_reached`: revoke a key first."),
        },
        examples=[
            example("New key", {"name": "CI deploys", "expires_at": "2027-01-01T00:00:00Z"}, request=True),
            example("Created", {**EXAMPLE_KEY, "key": "ak_3f9a1c0b7d2e_" + "x" * 43}, status="201"),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw = services.api_key_create(user=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        body = {**ApiKeySerializer(key).data, "key": raw}
        return no_store(Response(body, status=status.HTTP_201_CREATED))  # type: ignore[return-value]


class ApiKeyDetailView(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsBearerAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Revoke an API key",
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked; the key stops working at once."),
            404: OpenApiResponse(description="`api_key_not_found`: no active key of yours has this id."),
        },
    )
    def delete(self, request: Request, pk: uuid.UUID) -> Response:
        services.api_key_revoke(user=request.user, key_id=pk)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
