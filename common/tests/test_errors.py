"""Every failure leaves as RFC 9457 problem+json with a stable `code` and the right status and headers."""

import json

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("common.tests.urls")]

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code.replace("_", "-"))
    assert response["X-Request-ID"]
    return body


@pytest.fixture
def raw_client():
    client = Client()
    client.raise_request_exception = False
    return client


def test_debug_is_off_by_default(settings):
    assert settings.DEBUG is False


@pytest.mark.parametrize("path", ["/api/v1/nope", "/nope", "/api/v1/test/users/extra", "/api/v2/orders"])
def test_unknown_path_is_404_not_found(client, path):
    assert_problem(client.get(path, HTTP_ACCEPT="text/html"), 404, "not_found")


def test_malformed_json_is_400_malformed_json(client):
    body = assert_problem(
        client.post("/api/v1/test/ping", data=b'{"a": ', content_type="application/json"), 400, "malformed_json"
    )
    assert "JSON" in body["detail"]


@pytest.mark.parametrize("host", ["evil.example", "bad host!", "testserver:notaport"])
def test_disallowed_host_is_400_disallowed_host(client, host):
    assert_problem(client.get("/api/v1/test/ping", HTTP_HOST=host), 400, "disallowed_host")


def test_csrf_failure_on_session_authenticated_drf_post(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert_problem(client.post("/api/v1/test/session", {}, "application/json"), 403, "csrf_failed")
    # with a matching cookie and header the same request passes
    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    ok = client.post("/api/v1/test/session", {}, "application/json", HTTP_X_CSRFTOKEN=secret)
    assert ok.status_code == 200


def test_csrf_failure_on_plain_django_view():
    client = Client(enforce_csrf_checks=True)
    body = assert_problem(client.post("/api/v1/test/django-form", {"a": "b"}), 403, "csrf_failed")
    assert body["detail"].startswith("CSRF verification failed")


def test_method_not_allowed_drf_view(client):
    response = client.put("/api/v1/test/ping", {}, "application/json")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_method_not_allowed_plain_django_view_keeps_allow(client):
    response = client.delete("/api/v1/test/django-get-only")
    body = assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET" and "DELETE" in body["detail"]


# Body limits (413, a non-numeric Content-Length) are refused before Django: test_asgi_guard.py, test_wsgi_guard.py.


def test_unsupported_media_type_is_415(client):
    response = client.post("/api/v1/test/ping", data=b"hello", content_type="text/plain")
    assert_problem(response, 415, "unsupported_media_type")


def test_not_acceptable_is_406(client):
    assert_problem(client.get("/api/v1/test/conflict", HTTP_ACCEPT="text/csv"), 406, "not_acceptable")


def test_errors_stay_json_when_html_was_negotiated(client):
    response = client.get("/api/v1/test/users", {"limit": "0"}, HTTP_ACCEPT="text/html")
    assert_problem(response, 400, "invalid_limit")


def test_rate_limited_is_429(client, settings):
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_ANON = "1/1d"
    from common.tests.test_ratelimit import fresh_ip

    ip = fresh_ip(86400)
    client.get("/api/v1/test/ping", REMOTE_ADDR=ip)
    response = client.get("/api/v1/test/ping", REMOTE_ADDR=ip)
    assert_problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0 and response["RateLimit"]


@pytest.mark.parametrize("path", ["/api/v1/test/boom", "/api/v1/test/django-boom"])
def test_unhandled_exception_is_500_without_internals(raw_client, path):
    body = assert_problem(raw_client.get(path), 500, "server_error")
    assert "a bug" not in json.dumps(body) and "Traceback" not in json.dumps(body)


def test_not_authenticated_is_problem(client):
    assert_problem(client.post("/api/v1/test/session", {}, "application/json"), 403, "not_authenticated")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/test/django-not-found", 404, "not_found"),
        ("/api/v1/test/django-forbidden", 403, "permission_denied"),
        ("/api/v1/test/django-suspicious", 400, "bad_request"),
    ],
)
def test_plain_django_exceptions_become_problems(client, path, status, code):
    assert_problem(client.get(path), status, code)


def test_application_errors_keep_their_code_and_field_errors(client):
    conflict = assert_problem(client.get("/api/v1/test/conflict"), 409, "order_already_paid")
    assert conflict["detail"] == "The order was already paid."
    invalid = assert_problem(client.post("/api/v1/test/conflict", {}, "application/json"), 400, "validation_error")
    assert invalid["errors"] == [{"attr": "email", "code": "invalid", "detail": "Enter a valid email."}]


def test_drf_validation_errors_are_flattened():
    from rest_framework import serializers

    from common.errors.handlers import flatten_errors

    class Line(serializers.Serializer):
        sku = serializers.CharField()

    class Order(serializers.Serializer):
        email = serializers.EmailField()
        lines = Line(many=True)

    serializer = Order(data={"email": "x", "lines": [{"sku": "a"}, {}]})
    assert not serializer.is_valid()
    flat = flatten_errors(serializer.errors)
    assert {(e["attr"], e["code"]) for e in flat} == {("email", "invalid"), ("lines.1.sku", "required")}


def test_django_ratelimit_blocks_are_429_not_403(rf):
    from django_ratelimit.exceptions import Ratelimited

    from common.errors import drf_exception_handler, permission_denied

    drf_response = drf_exception_handler(Ratelimited(), {})
    assert drf_response is not None and drf_response.status_code == 429
    assert drf_response.data["code"] == "rate_limited" and drf_response["Retry-After"] == "60"
    plain = permission_denied(rf.get("/"), Ratelimited())
    body = json.loads(plain.content)
    assert plain.status_code == 429 and body["code"] == "rate_limited"
    assert plain["Retry-After"] == "60"


# --- an unreachable database: 503 service_unavailable with Retry-After, from DRF and plain views ---------


@pytest.mark.parametrize("error", ["django", "psycopg", "pool"])
def test_the_drf_handler_maps_database_errors_to_503(error):
    from django.db import OperationalError
    from psycopg import OperationalError as PsycopgOperationalError
    from psycopg_pool import PoolTimeout

    from common.errors import drf_exception_handler

    exc = {"django": OperationalError, "psycopg": PsycopgOperationalError, "pool": PoolTimeout}[error]("down")
    response = drf_exception_handler(exc, {})

    assert response is not None and response.status_code == 503
    assert response.data["code"] == "service_unavailable" and response["Retry-After"] == "5"


def test_other_exceptions_stay_unknown_to_the_drf_handler():
    from common.errors import drf_exception_handler

    assert drf_exception_handler(RuntimeError("bug"), {}) is None


@pytest.mark.parametrize("path", ["/api/v1/test/db-down", "/api/v1/test/django-db-down"])
def test_a_view_that_loses_the_database_is_503(raw_client, path, settings):
    settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 7
    response = raw_client.get(path)
    assert_problem(response, 503, "service_unavailable")
    assert response["Retry-After"] == "7"
