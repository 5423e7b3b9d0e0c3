"""Costs of the platform pieces every API request pays for, measured in-process with pytest-benchmark.

- the rate limiter's overhead per request (full middleware stack, limiter off vs on), and
- keyset pagination's cost per page at the start vs deep in a large table (should be flat).

Run through bench/common/run.sh; method and results table: docs/benchmarks/common.md.
"""

import datetime as dt
import os

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from common.pagination import keyset_page

ROWS = int(os.environ.get("BENCH_ROWS", "20000"))
pytestmark = [pytest.mark.django_db, pytest.mark.urls("common.tests.urls")]


@pytest.mark.parametrize("limiter", ["off", "on"])
def test_request_overhead_of_the_rate_limiter(benchmark, settings, limiter):
    settings.RATE_LIMIT_ENABLED = limiter == "on"
    settings.RATE_LIMIT_ANON = "1000000000/1d"  # count, never refuse
    client = Client()
    benchmark.group = "rate limiter: GET /api/v1/test/ping (anonymous)"

    response = benchmark(client.get, "/api/v1/test/ping")
    assert response.status_code == 200


@pytest.fixture
def many_users(django_db_blocker):
    user_model = get_user_model()
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    user_model.objects.bulk_create(
        [user_model(email=f"bench{index}@example.com", name=f"n{index % 50}") for index in range(ROWS)],
        batch_size=2000,
    )
    # many equal sort values: 50 distinct names, timestamps in steps of 10 rows
    for offset in range(0, ROWS, 2000):
        ids = list(user_model.objects.order_by("email").values_list("pk", flat=True)[offset : offset + 2000])
        user_model.objects.filter(pk__in=ids).update(created_at=base + dt.timedelta(seconds=offset // 10))
    return user_model


@pytest.mark.parametrize("where", ["first page", "deep page"])
@pytest.mark.parametrize("sort", ["-created_at", "name"])
def test_keyset_page_cost_is_flat(benchmark, many_users, where, sort):
    queryset = many_users.objects.all()
    fields = ["created_at", "name"]
    cursor = None
    if where == "deep page":
        # the cursor after the row ~90% down the list
        rows = list(queryset.order_by(sort, "-pk" if sort.startswith("-") else "pk")[: int(ROWS * 0.9)])
        from common.pagination import encode_cursor, parse_sort

        spec = parse_sort(many_users, sort, ordering_fields=fields, default_ordering="-created_at")
        cursor = encode_cursor(many_users, spec, rows[-1])
    benchmark.group = f"keyset page of 20, sort={sort}, {ROWS} rows"

    page = benchmark(
        keyset_page,
        queryset,
        sort=sort,
        limit=20,
        cursor=cursor,
        ordering_fields=fields,
        default_ordering="-created_at",
    )
    assert len(page.items) == 20
