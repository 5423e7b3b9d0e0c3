"""Services without HTTP: purge, seed, authentication helpers for other apps."""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone

from auth_app import tasks
from auth_app.authentication import authenticate_request, request_principal
from auth_app.models import AuthSession, User
from auth_app.seed import seed_run
from auth_app.services import api_key_create, auth_session_revoke, auth_session_start, auth_sessions_purge_expired
from auth_app.tokens import token_decode

pytestmark = pytest.mark.django_db


def test_purge_deletes_only_expired_sessions_in_batches(user):
    for _ in range(5):
        auth_session_start(user=user)
    keep = auth_session_start(user=user)
    expired = AuthSession.objects.exclude(pk=token_decode(keep["access"], expected_type="access").sid)
    expired.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert auth_sessions_purge_expired(batch_size=2) == 5
    assert AuthSession.objects.count() == 1


def test_purge_task_calls_the_service(user, settings):
    auth_session_start(user=user)
    AuthSession.objects.update(expires_at=timezone.now() - timedelta(days=1))
    assert tasks.auth_sessions_purge_expired.delay().get() == 1
    assert "auth-sessions-purge-expired" in settings.CELERY_BEAT_SCHEDULE


def test_request_principal_is_cheap_and_names_the_principal(user, django_assert_num_queries):
    access = auth_session_start(user=user)["access"]
    _, key = api_key_create(user=user, name="k")
    factory = RequestFactory()
    with django_assert_num_queries(0):
        assert request_principal(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {access}")) == f"user:{user.pk}"
        assert request_principal(factory.get("/", HTTP_X_API_KEY=key)) == f"user:{user.pk}"
        forged = key[: -len("abcd")] + ("abcd" if not key.endswith("abcd") else "dcba")
        assert request_principal(factory.get("/", HTTP_X_API_KEY=forged)) is None
        assert request_principal(factory.get("/", HTTP_AUTHORIZATION="Bearer nope")) is None
        assert request_principal(factory.get("/")) is None


def test_authenticate_request_for_plain_views(user, other_user):
    factory = RequestFactory()
    pair = auth_session_start(user=user)
    _, key = api_key_create(user=other_user, name="k")
    assert authenticate_request(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")) == user
    assert authenticate_request(factory.get("/", HTTP_X_API_KEY=key)) == other_user
    session_request = factory.get("/")
    session_request.user = other_user
    assert authenticate_request(session_request) == other_user
    anonymous = factory.get("/")
    anonymous.user = AnonymousUser()
    assert authenticate_request(anonymous) is None
    auth_session_revoke(session_id=token_decode(pair["access"], expected_type="access").sid, reason="test")
    assert authenticate_request(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")) is None


def test_seed_creates_demo_users_once_and_warns(settings):
    settings.EMBEDDED_DATABASE = True
    out = io.StringIO()
    seed_run(stdout=out)
    seed_run(stdout=out)
    assert User.objects.filter(email__in=["demo@example.com", "admin@example.com"]).count() == 2
    assert User.objects.get(email="admin@example.com").is_staff
    assert User.objects.get(email="demo@example.com").check_password("demo-password-123")
    assert "WARNING demo credentials" in out.getvalue()


def test_seed_skips_demo_users_outside_embedded_mode(settings):
    settings.EMBEDDED_DATABASE = False
    settings.SEED_DEMO_USERS = False
    seed_run(stdout=io.StringIO())
    assert not User.objects.filter(email="demo@example.com").exists()


def test_seed_demo_users_flag_is_read_through_settings(settings):
    settings.EMBEDDED_DATABASE = False
    settings.SEED_DEMO_USERS = True
    seed_run(stdout=io.StringIO())
    assert User.objects.filter(email="demo@example.com").exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_api_key_creates_cannot_pass_the_per_user_limit(user, settings, monkeypatch):
    # Found by racing POST api-keys: 40 parallel creates made 30 active keys with the limit at 25,
    # because each request counted the keys before any of them inserted.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections

    from auth_app import selectors
    from auth_app.models import ApiKey
    from auth_app.services import api_keys
    from common.errors.exceptions import Conflict

    if connection.vendor != "postgresql":
        pytest.skip("a real race needs PostgreSQL (set DATABASE_URL); in-memory SQLite refuses a second writer")
    settings.AUTH_API_KEYS_MAX_PER_USER = 1
    workers = 4
    counted = threading.Barrier(workers)
    real_count = selectors.api_key_active_count

    def count_then_wait(**kwargs):
        # Every request has counted before any inserts (the race, made certain); a create that holds
        # a lock the others wait for breaks the barrier after its timeout and goes on alone.
        result = real_count(**kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait(timeout=1)
        return result

    monkeypatch.setattr(api_keys.selectors, "api_key_active_count", count_then_wait)

    def one(index: int) -> str:
        try:
            api_key_create(user=User.objects.get(pk=user.pk), name=f"k{index}")
            return "created"
        except Conflict:
            return "limit"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = sorted(pool.map(one, range(workers)))
    assert outcomes == ["created"] + ["limit"] * (workers - 1)
    assert ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() == 1
