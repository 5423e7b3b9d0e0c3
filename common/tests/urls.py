"""A test-only URL map: tiny views over the user model that exercise the platform pieces in common/."""

import hashlib
import logging
import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from rest_framework import generics, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import Conflict, FieldError, ValidationFailed
from common.ratelimit import check_rate, rate_limit_policy, rate_limited_error


class UserRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "email", "name", "created_at", "is_staff"]


class UserList(generics.ListAPIView):
    """Lists users with keyset pagination; any visitor may call it."""

    serializer_class = UserRowSerializer
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    ordering_fields = ["created_at", "name", "email", "is_staff"]
    default_ordering = "-created_at"

    def get_queryset(self):
        return get_user_model().objects.all()


class Ping(APIView):
    """Answers 200 to anyone: the simplest rate-limited API view."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        return Response({"received": request.data})


@rate_limit_policy("test-burst", rate="TEST_BURST_RATE", key="ip")
class Burst(Ping):
    """Declares its own policy, as a webhook intake would."""


@rate_limit_policy("test-func", rate="3/1h")
@api_view(["GET"])
@permission_classes([AllowAny])
def burst_function(request: Request) -> Response:
    return Response({"ok": True})


@api_view(["POST"])
@permission_classes([AllowAny])
def own_limit(request: Request) -> Response:
    """Adds its own per-email limit on top of the global one, as the login view does."""
    email = str(request.data.get("email", "")) if isinstance(request.data, dict) else ""
    usage = check_rate(request, group="test-own", key=lambda group, req: email, rate="2/1h")
    if usage.limited:
        raise rate_limited_error(usage, "test-own")
    return Response({"ok": True})


class SessionOnly(APIView):
    """Authenticates by session only, so DRF's own CSRF check applies to unsafe methods."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        return Response({"ok": True})


class Boom(APIView):
    """A DRF view with a bug: the error must leave as a 500 problem, not a traceback."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise RuntimeError("a bug in a view")


class Conflicting(APIView):
    """Raises the application errors services raise."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise Conflict("The order was already paid.", code="order_already_paid")

    def post(self, request: Request) -> Response:
        raise ValidationFailed(errors=[FieldError(attr="email", code="invalid", detail="Enter a valid email.")])


class DatabaseDown(APIView):
    """A DRF view whose database is unreachable."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise OperationalError("connection failed: Connection refused")


def django_database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError("couldn't get a connection after 2.00 sec")


def django_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a plain Django view")


@require_GET
def django_get_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def django_form(request: HttpRequest) -> HttpResponse:
    """A plain Django view: Django's CsrfViewMiddleware guards its POSTs."""
    return HttpResponse("ok")


@csrf_exempt
def echo_body(request: HttpRequest) -> JsonResponse:
    """Reads the body in pieces (its first line, then 10,000 bytes at a time); answers its size and SHA-256."""
    first = request.readline()
    digest, size = hashlib.sha256(first), len(first)
    while chunk := request.read(10_000):
        digest.update(chunk)
        size += len(chunk)
    return JsonResponse({"first_line": first.decode(), "size": size, "sha256": digest.hexdigest()})


def django_not_found(request: HttpRequest) -> HttpResponse:
    raise Http404("no such thing")


def django_forbidden(request: HttpRequest) -> HttpResponse:
    raise DjangoPermissionDenied


def django_suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("bad")


def logs_a_line(request: HttpRequest) -> HttpResponse:
    """Writes one log line with extra fields, to see the request id in it."""
    logging.getLogger("common.tests.views").warning("placed", extra={"order_id": uuid.UUID(int=7), "total": 1})
    return HttpResponse("ok")


urlpatterns = [
    path("api/v1/test/log", logs_a_line, name="test-log"),
    path("api/v1/test/session", SessionOnly.as_view(), name="test-session"),
    path("api/v1/test/boom", Boom.as_view(), name="test-boom"),
    path("api/v1/test/conflict", Conflicting.as_view(), name="test-conflict"),
    path("api/v1/test/django-boom", django_boom, name="test-django-boom"),
    path("api/v1/test/db-down", DatabaseDown.as_view(), name="test-db-down"),
    path("api/v1/test/django-db-down", django_database_down, name="test-django-db-down"),
    path("api/v1/test/django-get-only", django_get_only, name="test-django-get-only"),
    path("api/v1/test/django-form", django_form, name="test-django-form"),
    path("api/v1/test/echo-body", echo_body, name="test-echo-body"),
    path("api/v1/test/django-not-found", django_not_found, name="test-django-not-found"),
    path("api/v1/test/django-forbidden", django_forbidden, name="test-django-forbidden"),
    path("api/v1/test/django-suspicious", django_suspicious, name="test-django-suspicious"),
    path("api/v1/test/users", UserList.as_view(), name="test-users"),
    path("api/v1/test/ping", Ping.as_view(), name="test-ping"),
    path("api/v1/test/burst", Burst.as_view(), name="test-burst"),
    path("api/v1/test/burst-function", burst_function, name="test-burst-function"),
    path("api/v1/test/own-limit", own_limit, name="test-own-limit"),
    path("", include("config.urls")),
]

handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
