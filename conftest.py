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
    """Each test starts with an empty cache (rate-limit counters, denylists, stream slots) and its own MEDIA_ROOT."""
    from django.core.cache import cache

    from common.streams import streams_forget_all

    cache.clear()
    streams_forget_all()
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    cache.clear()
    streams_forget_all()


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
def make_access_token(db):
    """Factory: `make_access_token(user) -> str`, a real access token from a new session of `user`."""
    from auth_app.services import auth_session_start

    def make(user) -> str:
        return auth_session_start(user=user)["access"]

    return make


@pytest.fixture
def access_token(user, make_access_token) -> str:
    """A real access token for `user`."""
    return make_access_token(user)


@pytest.fixture
def auth_client(user, access_token):
    """An API client that sends `Authorization: Bearer <access token>` for `user`."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hash test passwords with MD5 (fast); Argon2id and the others stay listed so real hashes still verify.

    Tests about hashing itself use the `real_password_hashers` fixture.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture
def real_password_hashers(settings):
    """The production PASSWORD_HASHERS (Argon2id first), for tests about hashing."""
    settings.PASSWORD_HASHERS = [h for h in settings.PASSWORD_HASHERS if not h.endswith("MD5PasswordHasher")]
    return settings.PASSWORD_HASHERS


@pytest.fixture
async def stray_tasks_cancelled():
    """After an async test, cancel what it left running, repeating the cancellation until it takes.

    The event loop of each test closes with one cancellation per task; a channels_redis receive can
    absorb that first cancellation, and the loop then waits for it forever. Consumers stop their own
    receives the same way (common.channels.layer_receive); this covers what a test leaves behind.
    """
    import asyncio

    from common.channels import cancel_until_done

    yield
    current = asyncio.current_task()
    for task in [task for task in asyncio.all_tasks() if task is not current and not task.done()]:
        await cancel_until_done(task)


DEAD_BROKER_URL = "redis://127.0.0.1:1/0"  # a real closed port: publishing fails at once, no mocks


@pytest.fixture
def celery_broker():
    """`celery_broker(url)`: make the Celery app publish to `url` for real (not eagerly); restored afterwards.

    With DEAD_BROKER_URL it is a broker outage; with the REDIS_URL of the run, a worker started by the
    test (`celery -A config worker`) receives what is published.
    """
    from config.celery import app

    keys = ("task_always_eager", "broker_url", "task_publish_retry", "broker_connection_timeout")
    saved = {key: app.conf[key] for key in keys}

    def reset_pools() -> None:
        # What Celery itself does after a fork, so that the next publish connects to the new broker_url.
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]

    def point(url: str) -> None:
        app.conf.update(task_always_eager=False, broker_url=url, task_publish_retry=False, broker_connection_timeout=1)
        reset_pools()

    yield point
    app.conf.update(saved)
    reset_pools()


@pytest.fixture
def broker_down(celery_broker):
    """The Celery app publishing to a real closed port (no eager execution), restored afterwards."""
    celery_broker(DEAD_BROKER_URL)


_served_schema: dict[str, object] = {}


@pytest.fixture
def openapi_conformance():
    """`check(response, path, method)`: fail unless a Django/DRF test response is what the published schema
    (/openapi.json) says `method path` answers: a documented status, a documented media type, and a body
    of the documented shape. The checks are schemathesis's own, those its fuzzing runs apply
    (common/tests/test_schema_fuzz.py, docs/attack.md). `path` is the template (`/api/v1/bins/{bin_id}`).
    """
    import requests
    import schemathesis
    from django.test import Client
    from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

    if "schema" not in _served_schema:
        served = Client().get("/openapi.json")
        assert served.status_code == 200
        _served_schema["schema"] = schemathesis.openapi.from_dict(served.json())
    schema = _served_schema["schema"]

    def check(response, path: str, method: str) -> None:
        operation = schema[path][method.upper()]  # type: ignore[index]
        sent = requests.Request(method.upper(), "http://testserver" + response.wsgi_request.get_full_path()).prepare()
        answer = schemathesis.Response(
            status_code=response.status_code,
            headers={name.lower(): [value] for name, value in response.items()},
            content=response.content,
            request=sent,
            elapsed=0.0,
            verify=True,
        )
        # The case only names the operation to the checks; its parameters are never sent.
        case = operation.Case(path_parameters={parameter.name: "0" for parameter in operation.path_parameters})
        case.validate_response(
            answer, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
        )

    return check
