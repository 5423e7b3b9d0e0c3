"""The seed plan's numbered properties owned by orders (08-13)."""

import hashlib
import hmac
import time

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from common.errors import ApplicationError
from orders import services
from orders.models import IdempotencyKey, Order

from .factories import orders_make, walk

db_property = hsettings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
URL = "/api/v1/orders"
STATUSES = ["pending", "paid", "fulfilled", "cancelled", "refunded"]
PAYMENTS = ["unpaid", "paid", "refunded"]
CURRENCIES = ["usd", "eur", "jpy", "kwd"]
EMAILS = ["", "ada@example.com", "ADA@example.com", "grace@example.org"]
SKUS = ["A", "B", "C"]

order_rows = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(STATUSES),
            "payment_status": st.sampled_from(PAYMENTS),
            "currency": st.sampled_from(CURRENCIES),
            "total": st.integers(min_value=0, max_value=5).map(lambda n: n * 100),
            "customer_email": st.sampled_from(EMAILS),
            "skus": st.lists(st.sampled_from(SKUS), min_size=1, max_size=2),
            "created": st.integers(min_value=0, max_value=4),
        }
    ),
    max_size=12,
)
filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(STATUSES),
        "payment_status": st.sampled_from(PAYMENTS),
        "currency": st.sampled_from(CURRENCIES),
        "total_min": st.integers(min_value=0, max_value=500),
        "total_max": st.integers(min_value=0, max_value=500),
        "customer_email": st.sampled_from(EMAILS[1:]),
        "sku": st.sampled_from(SKUS),
        "created_after": st.integers(min_value=0, max_value=4),
        "created_before": st.integers(min_value=0, max_value=4),
        "search": st.sampled_from(["ada", "EXAMPLE.ORG", "ORD-T", "zzz"]),
    },
)


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _matches(row, order, f):
    """The Python model of the order filters."""
    from .factories import BASE_TIME

    checks = [
        f.get("status") in (None, row["status"]),
        f.get("payment_status") in (None, row["payment_status"]),
        f.get("currency") in (None, row["currency"]),
        "total_min" not in f or row["total"] >= f["total_min"],
        "total_max" not in f or row["total"] <= f["total_max"],
        "customer_email" not in f or row["customer_email"].lower() == f["customer_email"].lower(),
        "sku" not in f or f["sku"] in row["skus"],
        "created_after" not in f or row["created"] >= f["created_after"],
        "created_before" not in f or row["created"] < f["created_before"],
        "search" not in f
        or f["search"].lower() in order.number.lower()
        or f["search"].lower() in row["customer_email"].lower(),
    ]
    del BASE_TIME
    return all(checks)


def _query(f):
    from datetime import timedelta

    from .factories import BASE_TIME

    query = dict(f)
    for name in ("created_after", "created_before"):
        if name in query:
            query[name] = (BASE_TIME + timedelta(seconds=query[name])).isoformat()
    return query


# --- Property 08: filter correctness --------------------------------------------------------------


@pytest.mark.django_db
@hsettings(db_property, max_examples=30)
@given(rows=order_rows, f=filters, limit=st.integers(min_value=1, max_value=5))
def test_property_08_filters_match_a_python_model(staff_user, rows, f, limit):
    Order.objects.all().delete()
    made = orders_make(staff_user, rows)
    expected = {str(order.pk) for row, order in zip(rows, made, strict=True) if _matches(row, order, f)}
    seen = walk(_client(staff_user), URL, _query(f), limit=limit)
    ids = [item["id"] for item in seen]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


# --- Property 09: sort correctness ----------------------------------------------------------------


@pytest.mark.django_db
@hsettings(db_property, max_examples=30)
@given(
    rows=order_rows,
    sort=st.sampled_from(["created_at", "total", "status", "updated_at"]),
    descending=st.booleans(),
    limit=st.integers(min_value=1, max_value=5),
)
def test_property_09_every_sort_is_a_total_order_walked_without_gaps(staff_user, rows, sort, descending, limit):
    Order.objects.all().delete()
    orders_make(staff_user, rows)
    seen = walk(_client(staff_user), URL, {"sort": ("-" if descending else "") + sort}, limit=limit)
    expected = sorted(Order.objects.values_list(sort, "id"), reverse=descending)
    assert [item["id"] for item in seen] == [str(pk) for _, pk in expected]


# --- Property 10: idempotent creation -------------------------------------------------------------

items = st.lists(
    st.fixed_dictionaries(
        {
            "sku": st.text(alphabet="ABCDEFGH-0123456789", min_size=1, max_size=12),
            "name": st.text(max_size=20).filter(lambda s: "\x00" not in s),
            "quantity": st.integers(min_value=1, max_value=50),
            "unit_amount": st.integers(min_value=0, max_value=100_000),
        }
    ),
    min_size=1,
    max_size=4,
)
bodies = st.fixed_dictionaries(
    {"currency": st.sampled_from(CURRENCIES), "items": items},
    optional={
        "customer_email": st.sampled_from(EMAILS),
        "metadata": st.dictionaries(
            st.text(alphabet="abcxyz_", min_size=1, max_size=8),
            st.text(max_size=30).filter(lambda s: "\x00" not in s),
            max_size=4,
        ),
    },
)


@pytest.mark.django_db
@hsettings(db_property, max_examples=25)
@given(body=bodies, repeats=st.integers(min_value=1, max_value=3), key=st.uuids())
def test_property_10_same_key_same_body_creates_one_order(user, body, repeats, key):
    IdempotencyKey.objects.all().delete()  # examples share the test's transaction
    client = _client(user)
    responses = [client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(key)) for _ in range(repeats + 1)]
    assert {r.status_code for r in responses} == {201}
    assert all(r.json() == responses[0].json() for r in responses)
    assert Order.objects.filter(pk=responses[0].json()["id"]).count() == 1
    assert IdempotencyKey.objects.filter(key=str(key)).count() == 1
    other = {**body, "currency": "chf"}
    assert client.post(URL, other, format="json", HTTP_IDEMPOTENCY_KEY=str(key)).status_code == 422
    expected_total = sum(i["quantity"] * i["unit_amount"] for i in body["items"])
    assert responses[0].json()["total"] == expected_total


# --- Property 11: retrieval consistency -----------------------------------------------------------


@pytest.mark.django_db
@hsettings(db_property, max_examples=25)
@given(body=bodies)
def test_property_11_get_and_list_return_what_create_returned(user, body):
    client = _client(user)
    created = client.post(URL, body, format="json").json()
    assert client.get(f"{URL}/{created['id']}").json() == created
    listed = [item for item in client.get(URL, {"limit": 100}).json()["items"] if item["id"] == created["id"]]
    assert listed == [created]
    assert created["currency"] == body["currency"]
    assert [(i["sku"], i["quantity"], i["unit_amount"]) for i in created["items"]] == [
        (i["sku"], i["quantity"], i["unit_amount"]) for i in body["items"]
    ]


# --- Property 12: update persistence --------------------------------------------------------------

patches = st.fixed_dictionaries(
    {},
    optional={
        "metadata": st.dictionaries(
            st.text(alphabet="abcdefgh_-", min_size=1, max_size=40),
            st.text(max_size=500).filter(lambda s: "\x00" not in s),
            max_size=5,
        ),
        "customer_email": st.sampled_from(EMAILS),
        "shipping_notes": st.text(max_size=200).filter(lambda s: "\x00" not in s),
    },
)


@pytest.mark.django_db
@hsettings(db_property, max_examples=30)
@given(patch=patches)
def test_property_12_patch_is_persisted_and_read_back_identically(user, patch):
    client = _client(user)
    created = client.post(
        URL, {"currency": "eur", "items": [{"sku": "A", "quantity": 1, "unit_amount": 5}]}, format="json"
    ).json()
    response = client.patch(f"{URL}/{created['id']}", patch, format="json")
    assert response.status_code == 200, response.json()
    fetched = client.get(f"{URL}/{created['id']}").json()
    assert response.json() == fetched
    for name, value in patch.items():
        assert fetched[name] == value
    untouched = {"number", "total", "currency", "items", "status", "created_at"}
    assert {k: fetched[k] for k in untouched} == {k: created[k] for k in untouched}


# --- Property 13: webhook signature verification --------------------------------------------------


def _header(payload: str, secret: str, t: int) -> str:
    return f"t={t},v1=" + hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()


def _verifies(payload: str, header: str, secrets: list[str]) -> bool:
    try:
        services.stripe_signature_verify(payload=payload.encode(), header=header, secrets=secrets)
    except ApplicationError:
        return False
    return True


@hsettings(db_property, max_examples=50)
@given(
    payload=st.text(max_size=200),
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=8, max_size=40),
    age=st.integers(min_value=-300 + 2, max_value=300 - 2),
    mutation=st.sampled_from(["body", "timestamp", "secret", "signature", "expired", "future", "none"]),
)
def test_property_13_only_an_unchanged_fresh_signature_verifies(settings, payload, secret, age, mutation):
    settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
    assume("\ud800" not in payload)
    t = int(time.time()) - age
    header = _header(payload, secret, t)
    assert _verifies(payload, header, [secret])
    if mutation == "none":
        return
    if mutation == "body":
        assert not _verifies(payload + "x", header, [secret])
    elif mutation == "timestamp":
        assert not _verifies(payload, header.replace(f"t={t}", f"t={t + 1}"), [secret])
    elif mutation == "secret":
        assert not _verifies(payload, header, [secret + "x"])
    elif mutation == "signature":
        digest = header.split("v1=")[1]
        flipped = ("0" if digest[0] != "0" else "1") + digest[1:]
        assert not _verifies(payload, f"t={t},v1={flipped}", [secret])
    elif mutation == "expired":
        assert not _verifies(payload, _header(payload, secret, int(time.time()) - 302), [secret])
    elif mutation == "future":
        assert not _verifies(payload, _header(payload, secret, int(time.time()) + 302), [secret])
