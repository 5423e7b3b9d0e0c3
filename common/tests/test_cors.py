"""CORS headers on every answer an allowed origin's script must be able to read, refusals included."""

import pytest

from .test_ratelimit import PING, fresh_ip

pytestmark = [pytest.mark.django_db, pytest.mark.urls("common.tests.urls")]

ORIGIN = "https://app.example"


@pytest.fixture
def cors_and_limits(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_ANON = "1/1h"
    return settings


def test_a_429_carries_the_cors_headers_of_an_allowed_origin(client, cors_and_limits):
    """CorsMiddleware sits before the rate limiter, so a browser app can read the 429 and its
    Retry-After instead of seeing an opaque network error."""
    ip = fresh_ip(3600)
    ok = client.get(PING, REMOTE_ADDR=ip, HTTP_ORIGIN=ORIGIN)
    assert ok.status_code == 200 and ok["Access-Control-Allow-Origin"] == ORIGIN
    blocked = client.get(PING, REMOTE_ADDR=ip, HTTP_ORIGIN=ORIGIN)
    assert blocked.status_code == 429
    assert blocked["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in blocked["Access-Control-Expose-Headers"]


def test_a_429_names_no_origin_that_is_not_allowed(client, cors_and_limits):
    ip = fresh_ip(3600)
    client.get(PING, REMOTE_ADDR=ip, HTTP_ORIGIN="https://evil.example")
    blocked = client.get(PING, REMOTE_ADDR=ip, HTTP_ORIGIN="https://evil.example")
    assert blocked.status_code == 429
    assert "Access-Control-Allow-Origin" not in blocked
