"""Fixtures shared by every app's tests.

Tests run against whatever DATABASE_URL / REDIS_URL name: PostgreSQL and Redis in CI, SQLite and
in-memory layers in the fast local loop. With CI=true a missing service fails the run instead of
silently falling back to the embedded mode.
"""

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI", "").lower() == "true":
        missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            raise pytest.UsageError(f"CI=true but {', '.join(missing)} not set: CI tests must use the real services")


@pytest.fixture(autouse=True)
def _isolated_state(settings, tmp_path):
    """Each test starts with an empty cache (rate-limit counters, denylists) and its own MEDIA_ROOT."""
    from django.core.cache import cache

    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    cache.clear()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def password() -> str:
    return "correct-horse-battery-staple-42"


@pytest.fixture
def user(db, password):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(email="ada@example.com", password=password, name="Ada")


@pytest.fixture
def other_user(db, password):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(email="grace@example.com", password=password, name="Grace")


@pytest.fixture
def staff_user(db, password):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        email="staff@example.com", password=password, name="Staff", is_staff=True
    )


@pytest.fixture
def auth_client(user):
    """An API client that presents a real access token for `user` (issue 3 wires the token issuance)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user=user)
    return client
