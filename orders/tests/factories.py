"""Rows for list tests, written directly (the API path is covered elsewhere and is slower)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from orders.models import Order, OrderItem

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
_numbers = itertools.count(1)


def orders_make(owner: Any, rows: list[dict[str, Any]]) -> list[Order]:
    """One order per row: keys status, payment_status, currency, total, customer_email, skus, created (s), number."""
    orders: list[Order] = []
    items: list[OrderItem] = []
    for row in rows:
        total = row.get("total", 1000)
        order = Order(
            id=uuid.uuid4(),
            number=row.get("number") or f"ORD-T{next(_numbers):09d}",
            owner=row.get("owner", owner),
            status=row.get("status", "pending"),
            payment_status=row.get("payment_status", "unpaid"),
            currency=row.get("currency", "usd"),
            subtotal=total,
            tax=0,
            total=total,
            customer_email=row.get("customer_email", ""),
            created_at=BASE_TIME + timedelta(seconds=row.get("created", 0)),
        )
        orders.append(order)
        items.extend(
            OrderItem(
                order=order,
                position=i,
                sku=sku,
                name=sku,
                quantity=1,
                unit_amount=total if i == 0 else 0,
                line_total=total if i == 0 else 0,
            )
            for i, sku in enumerate(row.get("skus", ["SKU-A"]))
        )
    Order.objects.bulk_create(orders)
    OrderItem.objects.bulk_create(items)
    return orders


def walk(client: Any, url: str, params: dict[str, Any], limit: int, between: Any = None) -> list[dict[str, Any]]:
    """Every item of a keyset list, page by page; `between(page_no)` runs between fetches."""
    seen: list[dict[str, Any]] = []
    query = {**params, "limit": limit}
    for page_no in range(10_000):
        response = client.get(url, query)
        assert response.status_code == 200, response.json()
        body = response.json()
        seen.extend(body["items"])
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return seen
        query = {**params, "cursor": body["next_cursor"], "limit": limit}
        if between is not None:
            between(page_no)
    raise AssertionError("the walk did not end")
