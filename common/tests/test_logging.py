"""Request ids: echoed when well-formed, made when not, and present in every JSON log line of the request."""

import io
import json
import logging
import re

import pytest

from common.logging import JsonFormatter, RequestIdFilter, request_id_var

pytestmark = [pytest.mark.django_db, pytest.mark.urls("common.tests.urls")]
GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def asgi_application():
    """config.asgi's application, imported before `json_log` adds its handler (django.setup() configures logging)."""
    from config.asgi import application

    return application


@pytest.fixture
def json_log():
    """Collects the JSON lines that the platform formatter writes for every logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)


@pytest.mark.parametrize("incoming", ["abc-123", "req.1:2_3", "A" * 128, "0f" * 16])
def test_well_formed_request_id_is_echoed(client, incoming):
    assert client.get("/api/v1/test/ping", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", [None, "", "A" * 129, "has space", "semi;colon", "new\\nline", "ünï"])
def test_missing_or_malformed_request_id_is_replaced(client, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response = client.get("/api/v1/test/ping", **headers)
    assert GENERATED.match(response["X-Request-ID"])


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/api/v1/test/ping")["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_error_responses_carry_the_id_too(client):
    response = client.get("/api/v1/nowhere", HTTP_X_REQUEST_ID="trace-404")
    assert response.status_code == 404 and response["X-Request-ID"] == "trace-404"


def test_log_lines_carry_the_request_id(client, json_log):
    response = client.get("/api/v1/test/log", HTTP_X_REQUEST_ID="trace-1")
    assert response["X-Request-ID"] == "trace-1"
    lines = [line for line in json_log() if line["logger"] == "common.tests.views"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "trace-1"
    assert line["message"] == "placed" and line["level"] == "WARNING"
    assert line["order_id"] == "00000000-0000-0000-0000-000000000007" and line["total"] == 1
    assert line["time"].endswith("Z")


def test_django_request_log_of_a_404_carries_the_generated_id(client, json_log):
    response = client.get("/api/v1/nowhere")
    lines = [line for line in json_log() if line["logger"] == "django.request"]
    assert lines and all(line["request_id"] == response["X-Request-ID"] for line in lines)


def test_formatter_handles_exceptions_and_odd_extras():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("job",), None)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    record.thing = object()
    token = request_id_var.set("outside")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed job" and line["request_id"] == "outside"
    assert "RuntimeError: boom" in line["exc_info"]
    assert line["thing"].startswith("<object object")


@pytest.mark.parametrize(("proxies", "expected"), [(0, "192.0.2.44"), (1, "203.0.113.9")])
async def test_log_lines_carry_the_client_ip_of_the_request(asgi_application, json_log, settings, proxies, expected):
    from .asgi_driver import exchange, http_scope

    settings.TRUSTED_PROXY_COUNT = proxies
    scope = http_scope(
        "/api/v1/test/log", method="GET", client="192.0.2.44", headers=[("x-forwarded-for", "203.0.113.9")]
    )

    assert (await exchange(asgi_application, scope)).status == 200

    (line,) = [line for line in json_log() if line["logger"] == "common.tests.views"]
    assert line["client_ip"] == expected
