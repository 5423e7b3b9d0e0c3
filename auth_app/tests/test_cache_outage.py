"""A Redis outage gives 503 `service_unavailable` from the auth throttles and the denylist, never a 500.

The cache points at a real closed port (no mocks): every command fails with a connection error.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from auth_app.services import auth_session_start

from .conftest import API

pytestmark = pytest.mark.django_db

CLOSED_PORT_CACHE = {
    "default": {
        "BACKEND": "common.cache.PlatformRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture
def redis_down():
    # A fixture of its own, so that the cache is restored before the autouse fixture clears it.
    with override_settings(CACHES=CLOSED_PORT_CACHE):
        yield


def _assert_503(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "service_unavailable"


def test_throttled_login_is_503_when_the_cache_is_down(rate_limits_on, api_client, user, password, redis_down):
    _assert_503(api_client.post(f"{API}/login", {"email": user.email, "password": password}, format="json"))


def test_bearer_request_is_503_when_the_denylist_cannot_be_read(api_client, user):
    access = auth_session_start(user=user)["access"]
    with override_settings(CACHES=CLOSED_PORT_CACHE):
        _assert_503(api_client.get(f"{API}/users/me", HTTP_AUTHORIZATION=f"Bearer {access}"))
