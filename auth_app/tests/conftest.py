"""Helpers for the Auth API tests (the fast MD5 hasher is set globally by the root conftest)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

API = "/api/v1/auth"


def bearer(client: APIClient, access: str | None) -> APIClient:
    if access is None:
        client.credentials()
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def login(api_client, user, password):
    """`login(email=user.email, password=...) -> response` through the real endpoint."""

    def do(email: str | None = None, pw: str | None = None, client: APIClient | None = None) -> Any:
        return (client or api_client).post(
            f"{API}/login", {"email": email or user.email, "password": pw or password}, format="json"
        )

    return do


@pytest.fixture
def tokens(login) -> dict[str, Any]:
    """A fresh token pair for `user` from POST /login."""
    response = login()
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def rate_limits_on(settings):
    settings.AUTH_RATE_LIMIT_ENABLED = True
    return settings


@pytest.fixture(autouse=True)
async def _stray_tasks(stray_tasks_cancelled):
    yield
