"""Idempotency-Key on POST /orders: replay, 422 on another body, 409 in flight, one order under a race."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orders import services
from orders.models import IdempotencyKey, IdempotencyState, Order

from .conftest import order_body, run_concurrently

URL = "/api/v1/orders"


@pytest.mark.django_db
def test_repeat_replays_first_response(auth_client):
    first = auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_key_order_in_body_does_not_matter_and_sf_string_is_accepted(auth_client):
    body = order_body()
    auth_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY='"k-2"')
    reordered = dict(reversed(list(body.items())))
    assert auth_client.post(URL, reordered, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_same_key_other_body_is_422(auth_client):
    auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    response = auth_client.post(URL, order_body(currency="eur"), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_mismatch"


@pytest.mark.django_db
def test_key_in_flight_is_409_and_stale_lock_is_taken_over(auth_client, user):
    now = timezone.now()
    fingerprint = services.request_fingerprint(order_body())
    row = IdempotencyKey.objects.create(
        owner=user,
        endpoint="POST /api/v1/orders",
        key="k-4",
        fingerprint=fingerprint,
        locked_at=now,
        expires_at=now + timedelta(days=1),
    )
    response = auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_in_use"
    IdempotencyKey.objects.filter(pk=row.pk).update(locked_at=now - timedelta(minutes=5))
    assert auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-4").status_code == 201
    assert IdempotencyKey.objects.get(pk=row.pk).state == IdempotencyState.COMPLETED


@pytest.mark.django_db
def test_keys_are_scoped_per_caller(auth_client, other_client):
    auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert other_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="shared").status_code == 201
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_failed_request_stores_nothing_and_key_is_reusable(auth_client):
    bad = auth_client.post(URL, order_body(items=[]), format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-5").status_code == 201


@pytest.mark.django_db
def test_expired_key_runs_again_and_is_purged(auth_client, settings):
    auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-6").status_code == 201
    assert Order.objects.count() == 2
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.idempotency_keys_purge() == 1 and not IdempotencyKey.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_malformed_key_is_400(auth_client, key):
    response = auth_client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"


@pytest.mark.django_db
def test_key_can_be_required(auth_client, settings):
    settings.ORDERS_IDEMPOTENCY_KEY_REQUIRED = True
    response = auth_client.post(URL, order_body(), format="json")
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_required"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_order(user, make_access_token):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real concurrent transactions")
    from rest_framework.test import APIClient

    token = make_access_token(user)
    statuses: list[int] = []
    bodies: list[dict] = []

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.post(URL, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="race")
        statuses.append(response.status_code)
        if response.status_code == 201:
            bodies.append(response.json())

    run_concurrently(8, post)
    assert Order.objects.count() == 1
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert all(body == bodies[0] for body in bodies)
