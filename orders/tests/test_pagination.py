"""Keyset walks of GET /orders never skip or repeat rows: heavy ties, rows inserted between pages (DRF #7887)."""

import datetime as dt

import pytest

from common.serialization import parse_datetime
from orders.models import Order

from .conftest import order_body
from .factories import orders_make, walk

URL = "/api/v1/orders"
SORTS = ["created_at", "-created_at", "total", "-total", "status", "-status", "updated_at", "-updated_at"]


@pytest.mark.django_db
@pytest.mark.parametrize("sort", SORTS)
def test_walk_under_heavy_ties_and_concurrent_inserts(auth_client, user, sort):
    # Sixty rows sharing two totals, two statuses and two creation times.
    rows = [{"total": 100 * (i % 2), "status": ["paid", "pending"][i % 2], "created": i % 2} for i in range(60)]
    original = {str(o.pk) for o in orders_make(user, rows)}

    def insert(page_no):  # new rows on both sides of the cursor, with the same tied values
        orders_make(user, [{"total": 100 * (page_no % 2), "status": "paid", "created": page_no % 2} for _ in range(3)])

    seen = walk(auth_client, URL, {"sort": sort}, limit=7, between=insert)
    ids = [item["id"] for item in seen]
    assert len(ids) == len(set(ids)), "a row was repeated"
    assert original <= set(ids), "a row was skipped"
    field = sort.lstrip("-")
    keys = [(item[field], item["id"]) for item in seen]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


@pytest.mark.django_db
def test_cursor_is_bound_to_its_sort_and_filters(auth_client, user):
    orders_make(user, [{"total": t, "status": "paid"} for t in range(5)])
    first = auth_client.get(URL, {"sort": "total", "limit": 2, "status": "paid"}).json()
    response = auth_client.get(URL, {"cursor": first["next_cursor"], "sort": "-total", "status": "paid"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"
    dropped = auth_client.get(URL, {"cursor": first["next_cursor"]})
    assert dropped.status_code == 400 and "filters" in dropped.json()["detail"]
    same = auth_client.get(URL, {"cursor": first["next_cursor"], "status": "paid", "limit": 5}).json()
    assert [item["total"] for item in same["items"]] == [2, 3, 4]
    assert auth_client.get(URL, {"sort": "number"}).json()["code"] == "invalid_sort"
    assert Order.objects.count() == 5


@pytest.mark.django_db
def test_filters_are_validated(auth_client):
    assert auth_client.get(URL, {"status": "bogus"}).status_code == 400
    assert auth_client.get(URL, {"total_min": "abc"}).status_code == 400
    assert auth_client.get(URL, {"created_after": "yesterday"}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "9999-12-31T23:00:00-01:00"]
)
def test_a_datetime_filter_with_no_utc_instant_is_400_not_500(auth_client, value):
    # Year 0 or 10000 once in UTC; PostgreSQL also refused the +23:59 offset itself. Both were 500s.
    for name in ("created_after", "updated_before"):
        response = auth_client.get(URL, {name: value})
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["attr"] == name


@pytest.mark.django_db
def test_a_datetime_filter_with_a_large_offset_is_compared_in_utc(auth_client):
    order = auth_client.post(URL, order_body(), format="json").json()
    created = order["created_at"]  # UTC, "Z"
    # The same instant written 23:59 east of UTC: PostgreSQL allows offsets up to 15:59 in a literal.
    east = parse_datetime(created).astimezone(dt.timezone(dt.timedelta(hours=23, minutes=59))).isoformat()
    ids = [item["id"] for item in auth_client.get(URL, {"created_after": east}).json()["items"]]
    assert ids == [order["id"]]
