"""Schema-driven fuzzing of every operation in /openapi.json, in-process, CI-sized.

schemathesis reads the combined schema from the real ASGI application (config.asgi: the capture path,
the request guard, Django and DRF) and sends each operation generated requests, valid and invalid
(its "all" mode), with a fresh Bearer token of a real user per request (logout and logout-all would
otherwise revoke it mid-run). Each answer must be no 5xx, a documented status, of a documented media
type and shaped as the schema says; every 4xx/5xx must be `application/problem+json`.

Sized for the suite (a few examples per operation); docs/attack.md records the long runs against a live
server and what they found. The SSE stream is left out: it never ends, and tests of its own cover it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from common.errors import PROBLEM_CONTENT_TYPE

from . import fuzz_formats  # noqa: F401  (registers the format strategies: date-time edges)

pytestmark = pytest.mark.timeout(60)  # per operation; each takes about a second

EXAMPLES_PER_OPERATION = 6
STREAMS = ("notifications_events",)  # never ends


def _load() -> Any:
    """The schema as served, read through the application itself (at collection: one item per operation)."""
    from config.asgi import application

    schema = schemathesis.openapi.from_asgi("/openapi.json", application)
    return schema.exclude(operation_id=list(STREAMS))


fuzzed = _load()
CONFIGURED_DATABASE = django_settings.DATABASES["default"]["NAME"]  # read at collection, before the test database


def test_the_fuzzed_schema_holds_every_api(db: Any) -> None:
    # Also makes pytest-django set up the test database when this module runs alone: it does so only
    # for items that ask for `db`, and the module fixture below would otherwise meet the configured one.
    tags = {tag for operation in fuzzed.get_all_operations() for tag in operation.ok().definition.raw["tags"]}
    assert tags == {"auth", "orders", "files", "notifications", "bins"}


@pytest.fixture(scope="module")
def database(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Database access for the module's requests (the application answers them on threads of its own, so
    they must see committed rows), with every row the run made flushed once at the end. A flush per
    operation (transactional_db) made the run 2.5 times longer on PostgreSQL."""
    from django.db import connection

    assert connection.settings_dict["NAME"] != CONFIGURED_DATABASE, "no test database: refusing to fuzz and flush"
    with django_db_blocker.unblock():
        yield
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def token(database: Any) -> Iterator[Callable[[], str]]:
    """`token()`: a new access token of the module's user: the run's logout and logout-all revoke them."""
    from auth_app.services import auth_session_start

    user = get_user_model().objects.create_user(email="fuzz@example.com", password=None, name="Fuzz")
    yield lambda: str(auth_session_start(user=user)["access"])


@fuzzed.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, token: Callable[[], str]) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token()}"}
    response = case.call()
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        assert content_type.startswith(PROBLEM_CONTENT_TYPE), (
            response.status_code,
            content_type,
            response.content[:300],
        )
