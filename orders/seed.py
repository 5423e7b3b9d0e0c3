"""Orders demo data for `manage.py seed` (idempotent), and `manage.py seed --orders N` for benchmarks.

Demo: a few hundred orders for demo@example.com across statuses and currencies, moved there by
Stripe events that go through the real processing path (stored, then processed), so each order has
its webhook history and audit trail.

Bulk: N orders with one line each, inserted in batches of ORDERS_SEED_BATCH rows per transaction
(PostgreSQL COPY when available, bulk_create otherwise) with a progress line; owners are a handful of
`bench-<i>@example.com` users. Numbers are `ORD-U<serial>` (U is not in the random numbers'
alphabet), so a second run adds more rows.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from auth_app.selectors import user_by_email
from auth_app.services import user_register

from .currencies import CURRENCY_CODES
from .models import ChangeCause, Order, OrderItem, OrderStatus, StripeEvent
from .services import order_create, order_update
from .tasks import stripe_event_process_task

DEMO_EMAIL = "demo@example.com"
DEMO_STAFF_EMAIL = "admin@example.com"
DEMO_ORDERS = 240
BATCH = 10_000
BENCH_OWNERS = 10
CURRENCIES = ["usd", "eur", "gbp", "jpy", "kwd"]
PRODUCTS = [("TSHIRT-M", "T-shirt", 1500), ("MUG-01", "Mug", 900), ("BOOK-42", "Book", 2400), ("CAP-RED", "Cap", 1200)]
# The story of each demo order: Stripe events (type, refund amount as a share of the total) and an API step.
STORIES: list[tuple[list[tuple[str, float]], str]] = [
    ([("payment_intent.succeeded", 0)], ""),
    ([("payment_intent.succeeded", 0)], "fulfilled"),
    ([("payment_intent.succeeded", 0), ("charge.refunded", 0.5)], ""),
    ([("payment_intent.succeeded", 0), ("charge.refunded", 1.0)], ""),
    ([("payment_intent.payment_failed", 0)], ""),
    ([("payment_intent.payment_failed", 0), ("payment_intent.succeeded", 0)], ""),
    ([], "cancelled"),
    ([], ""),
    ([("payment_intent.succeeded", 0), ("charge.dispute.created", 0)], ""),
    ([("customer.created", 0)], ""),
]


def _event(kind: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    return {
        "id": f"evt_seed_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "type": kind,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
    }


def _deliver(event: dict[str, Any]) -> None:
    """Store the event as the intake does (it is ours, so unsigned) and process it now."""
    row = StripeEvent.objects.create(
        event_id=event["id"],
        type=event["type"],
        api_version=event["api_version"],
        created=datetime.fromtimestamp(event["created"], tz=UTC),
        raw_body=json.dumps(event),
        headers={"User-Agent": "seed"},
    )
    stripe_event_process_task(str(row.pk))


def _demo_order(user: Any, staff: Any, index: int, rng: random.Random) -> None:
    currency = CURRENCIES[index % len(CURRENCIES)]
    lines = [
        {
            "sku": sku,
            "name": name,
            "quantity": rng.randint(1, 3),
            "unit_amount": price if currency != "jpy" else price // 10,
        }
        for sku, name, price in rng.sample(PRODUCTS, rng.randint(1, 3))
    ]
    order = order_create(
        owner=user,
        currency=currency,
        items=lines,
        customer_email=DEMO_EMAIL,
        metadata={"seed": "demo", "n": str(index)},
    )
    steps, api_step = STORIES[index % len(STORIES)]
    pi = f"pi_seed_{uuid.uuid4().hex[:16]}"
    created = int(time.time()) - 86400
    for offset, (kind, share) in enumerate(steps):
        if kind.startswith("payment_intent"):
            obj: dict[str, Any] = {"id": pi, "object": "payment_intent", "amount": order.total, "currency": currency}
            obj.update(
                amount_received=order.total if kind.endswith("succeeded") else 0, metadata={"order_id": str(order.pk)}
            )
        elif kind == "charge.refunded":
            refunded = max(1, int(order.total * share))
            obj = {"id": f"ch_{pi[3:]}", "object": "charge", "amount": order.total, "amount_refunded": refunded}
            obj.update(refunded=refunded >= order.total, currency=currency, payment_intent=pi, metadata={})
        else:
            obj = {"id": f"obj_{pi[3:]}", "payment_intent": pi, "metadata": {}}
        _deliver(_event(kind, obj, created + offset * 60))
    actor = staff if api_step == OrderStatus.FULFILLED else user
    if api_step and actor is not None:
        order_update(user=actor, order_id=order.pk, changes={"status": api_step}, cause=ChangeCause.API)


def seed_run(*, stdout: Any) -> None:
    user = user_by_email(email=DEMO_EMAIL)
    if user is None:
        stdout.write(f"orders: skipped ({DEMO_EMAIL} does not exist)")
        return
    if Order.objects.filter(owner=user, metadata__seed="demo").exists():
        stdout.write("orders: demo orders already present")
        return
    rng = random.Random(10)  # noqa: S311 - demo data
    staff = user_by_email(email=DEMO_STAFF_EMAIL)  # auth_app's demo staff user, when seeded
    for index in range(DEMO_ORDERS):
        _demo_order(user, staff, index, rng)
    stdout.write(f"orders: created {DEMO_ORDERS} demo orders with their Stripe events for {DEMO_EMAIL}")


# --- Bulk rows for benchmarks ---------------------------------------------------------------------


def seed_add_arguments(parser: Any) -> None:
    parser.add_argument("--orders", type=int, default=0, metavar="N", help="Also insert N orders for benchmarks.")


def _bench_owners() -> list[Any]:
    """`bench-<i>@example.com` (created through auth_app's registration, with a random password)."""
    owners = []
    for i in range(BENCH_OWNERS):
        email = f"bench-{i}@example.com"
        owner = user_by_email(email=email)
        if owner is None:
            owner, _tokens = user_register(email=email, password=secrets.token_urlsafe(24), name=f"Bench {i}")
        owners.append(owner)
    return owners


def _rows(
    start: int, count: int, owners: list[Any], rng: random.Random, now: datetime
) -> tuple[list[Order], list[OrderItem]]:
    statuses = [s for s, _ in OrderStatus.choices]
    orders, items = [], []
    for serial in range(start, start + count):
        currency = CURRENCIES[rng.randrange(len(CURRENCIES))] if rng.random() < 0.8 else rng.choice(CURRENCY_CODES)
        quantity, unit = rng.randint(1, 5), rng.randint(1, 200) * 100
        total = quantity * unit
        status = statuses[rng.randrange(len(statuses))]
        created = now - timedelta(seconds=rng.randrange(365 * 86400))
        order = Order(
            id=uuid.uuid4(),
            number=f"ORD-U{serial:010d}",
            owner_id=owners[serial % len(owners)].pk,
            status=status,
            payment_status={"paid": "paid", "fulfilled": "paid", "refunded": "refunded"}.get(status, "unpaid"),
            currency=currency,
            subtotal=total,
            tax=0,
            total=total,
            customer_email=f"customer{serial % 5000}@example.com",
            metadata={},
            created_at=created,
            updated_at=created + timedelta(seconds=rng.randrange(86400)),
        )
        orders.append(order)
        sku, name, _ = PRODUCTS[serial % len(PRODUCTS)]
        items.append(
            OrderItem(
                id=uuid.uuid4(),
                order=order,
                position=0,
                sku=sku,
                name=name,
                quantity=quantity,
                unit_amount=unit,
                line_total=total,
            )
        )
    return orders, items


def _copy(model: Any, rows: list[Any]) -> None:
    """PostgreSQL COPY of model instances (every concrete column), several times faster than INSERT."""
    fields = [f for f in model._meta.concrete_fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields])


def _insert(orders: list[Order], items: list[OrderItem]) -> None:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _copy(Order, orders)
            _copy(OrderItem, items)
        else:
            Order.objects.bulk_create(orders)
            OrderItem.objects.bulk_create(items)


def orders_bulk_seed(*, count: int, stdout: Any, seed: int = 1) -> int:
    """Insert `count` orders (one line each) in batches, printing progress; returns how many."""
    owners = _bench_owners()
    start = Order.objects.filter(number__startswith="ORD-U").count()
    rng = random.Random(seed + start)  # noqa: S311 - benchmark data
    now = timezone.now()
    began = time.monotonic()
    done = 0
    for offset in itertools.count(0, BATCH):
        if offset >= count:
            break
        size = min(BATCH, count - offset)
        orders, items = _rows(start + offset, size, owners, rng, now)
        _insert(orders, items)
        done += size
        rate = done / max(time.monotonic() - began, 1e-6)
        stdout.write(f"\rorders: {done:,}/{count:,} ({100 * done // count}%) {rate:,.0f} rows/s", ending="")
        stdout.flush()
    stdout.write("")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Order._meta.db_table}")
            cursor.execute(f"ANALYZE {OrderItem._meta.db_table}")
    stdout.write(f"orders: inserted {done:,} orders in {time.monotonic() - began:.1f} s")
    return done


def seed_options_run(*, stdout: Any, options: dict[str, Any]) -> None:
    count = int(options.get("orders") or 0)
    if count > 0:
        orders_bulk_seed(count=count, stdout=stdout)
