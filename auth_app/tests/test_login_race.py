"""Parallel wrong-password logins for one account cannot outrun the lockout (real threads, real database)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from .conftest import API


def _parallel_logins(email: str, password: str, workers: int) -> list[int]:
    barrier = threading.Barrier(workers)

    def one() -> int:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            return client.post(f"{API}/login", {"email": email, "password": password}, format="json").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda _: one(), range(workers)))


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_wrong_logins_reach_the_hasher_at_most_five_times(user, rate_limits_on):
    if connection.vendor != "postgresql":
        # As in test_refresh_race: in-memory SQLite cannot serve concurrent threads; CI runs this on PostgreSQL.
        pytest.skip("a real race needs PostgreSQL (set DATABASE_URL)")
    rate_limits_on.AUTH_LOGIN_FAILURES_PER_ACCOUNT = "5/5m"
    rate_limits_on.AUTH_LOGIN_RATE_PER_IP = "1000/m"  # only the per-account limit is under test
    workers = 20
    statuses = _parallel_logins(user.email, "not-the-password", workers)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 5, statuses
    assert statuses.count(429) >= workers - 5, statuses
