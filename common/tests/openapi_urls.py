"""A test-only URL map: the project's URLs plus a small "widgets" API, so the OpenAPI checks always meet
real operations of every kind (list with query parameters, create with a body, detail with an id and an
object permission, a declared 409, a public endpoint), whatever the five APIs hold today.
"""

import uuid
from typing import Any, cast

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.openapi.views import api_schema_urlpatterns
from config.urls import urlpatterns as project_urlpatterns

TEST_API = "widgets"


class WidgetSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=50)
    size = serializers.IntegerField(min_value=1)


class IsWidgetOwner(BasePermission):
    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return bool(getattr(obj, "owner_id", None) == request.user.pk)


class WidgetList(APIView):
    """Widgets of the caller."""

    @extend_schema(
        summary="List widgets",
        parameters=[OpenApiParameter("limit", int, description="Page size, 1-100.")],
        responses=WidgetSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return Response([])

    @extend_schema(summary="Create a widget", request=WidgetSerializer, responses={201: WidgetSerializer})
    def post(self, request: Request) -> Response:
        serializer = WidgetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({**serializer.validated_data, "id": str(uuid.uuid4())}, status=201)


class WidgetDetail(APIView):
    """One widget; only its owner may see or change it."""

    permission_classes = [IsAuthenticated, IsWidgetOwner]

    @extend_schema(summary="Get a widget", responses=WidgetSerializer)
    def get(self, request: Request, pk: uuid.UUID) -> Response:
        return Response({"id": str(pk), "name": "w", "size": 1})

    @extend_schema(
        summary="Delete a widget",
        responses={204: None, 409: OpenApiResponse(description="The widget is in use.")},
    )
    def delete(self, request: Request, pk: uuid.UUID) -> Response:
        return Response(status=204)


class WidgetPing(APIView):
    """Answers anyone; needs no credentials."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(summary="Ping the widgets API", request=None, responses={200: OpenApiResponse(description="pong")})
    def get(self, request: Request) -> Response:
        return Response({"pong": True})


urlpatterns: list[URLPattern | URLResolver] = [
    *cast(list[URLPattern | URLResolver], project_urlpatterns),
    path(f"api/v1/{TEST_API}", WidgetList.as_view(), name="widget-list"),
    path(f"api/v1/{TEST_API}/ping", WidgetPing.as_view(), name="widget-ping"),
    path(f"api/v1/{TEST_API}/<uuid:pk>", WidgetDetail.as_view(), name="widget-detail"),
    *api_schema_urlpatterns({TEST_API: __name__}),
]

handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
