"""Keyset pagination: limits, sorts, cursors and the response envelope."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone

from common.errors import ValidationFailed
from common.pagination import (
    KeysetPagination,
    SortSpec,
    decode_cursor,
    encode_cursor,
    keyset_page,
    parse_limit,
    parse_sort,
)
from common.pagination.keyset import CURSOR_SALT, _to_python

URL = "/api/v1/test/users"
pytestmark = [pytest.mark.django_db, pytest.mark.urls("common.tests.urls")]

User = get_user_model()


def make_users(count: int, *, same_time: bool = False, names: list[str] | None = None) -> list:
    base = timezone.now().replace(microsecond=0)
    users = []
    for index in range(count):
        user = User.objects.create_user(
            email=f"user{index:03d}@example.com", name=(names or ["n"])[index % len(names or ["n"])]
        )
        users.append(user)
    for index, user in enumerate(users):
        stamp = base if same_time else base + dt.timedelta(seconds=index)
        User.objects.filter(pk=user.pk).update(created_at=stamp)
    return list(User.objects.all())


def walk(client, params: dict[str, str]) -> list[dict]:
    seen: list[dict] = []
    query = dict(params)
    for _ in range(1000):
        response = client.get(URL, query)
        assert response.status_code == 200, response.content
        body = response.json()
        seen.extend(body["items"])
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return seen
        query = {**params, "cursor": body["next_cursor"]}
    raise AssertionError("pagination did not end")


def test_envelope_and_default_sort_newest_first(client):
    users = make_users(3)
    body = client.get(URL).json()
    assert set(body) == {"items", "next_cursor", "has_more"}
    assert body["has_more"] is False and body["next_cursor"] is None
    assert [item["id"] for item in body["items"]] == [str(u.pk) for u in sorted(users, key=lambda u: u.created_at)][
        ::-1
    ]


def test_default_limit_is_setting(client, settings):
    settings.API_PAGE_SIZE_DEFAULT = 2
    make_users(3)
    body = client.get(URL).json()
    assert len(body["items"]) == 2 and body["has_more"] is True


def test_walk_with_identical_sort_values_yields_every_row_once(client):
    users = make_users(7, same_time=True)
    rows = walk(client, {"limit": "2", "sort": "created_at"})
    assert [row["id"] for row in rows] == [
        str(pk) for pk in User.objects.order_by("created_at", "pk").values_list("pk", flat=True)
    ]
    assert len({row["id"] for row in rows}) == len(users)


def test_descending_walk_on_boolean_and_string_fields(client):
    make_users(6, names=["b", "a", "b"])
    User.objects.filter(email__in=["user001@example.com", "user004@example.com"]).update(is_staff=True)
    for sort, keys in (("-is_staff", ("-is_staff", "-pk")), ("-name", ("-name", "-pk")), ("email", ("email", "pk"))):
        rows = walk(client, {"limit": "1", "sort": sort})
        assert [row["id"] for row in rows] == [
            str(pk) for pk in User.objects.order_by(*keys).values_list("pk", flat=True)
        ]


def test_rows_added_between_pages_are_not_repeated_or_skipped(client):
    make_users(4)
    first = client.get(URL, {"limit": "2", "sort": "created_at"}).json()
    # A row older than the cursor appears; the next page continues after the cursor, not by offset.
    early = User.objects.create_user(email="early@example.com")
    User.objects.filter(pk=early.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    second = client.get(URL, {"limit": "2", "sort": "created_at", "cursor": first["next_cursor"]}).json()
    ids = [row["id"] for row in first["items"] + second["items"]]
    assert len(set(ids)) == 4 and str(early.pk) not in ids


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", " 3", "1e2", "٣"])
def test_bad_limit_is_400_invalid_limit(client, limit):
    make_users(1)
    response = client.get(URL, {"limit": limit})
    assert response.status_code == 400  # an empty value too: absent is how to ask for the default
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_limit"
    assert response.json()["errors"][0]["attr"] == "limit"


def test_limit_bounds_follow_settings(client, settings):
    settings.API_PAGE_SIZE_MAX = 5
    make_users(1)
    assert client.get(URL, {"limit": "5"}).status_code == 200
    assert client.get(URL, {"limit": "6"}).json()["code"] == "invalid_limit"


@pytest.mark.parametrize("sort", ["password", "-password", "is_superuser", "--name", "id__gt", "name,email", "", " "])
def test_unknown_sort_is_400_invalid_sort(client, sort):
    response = client.get(URL, {"sort": sort})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_sort"


def test_cursor_from_another_sort_is_invalid(client):
    make_users(3)
    cursor = client.get(URL, {"limit": "1", "sort": "name"}).json()["next_cursor"]
    response = client.get(URL, {"limit": "1", "sort": "-name", "cursor": cursor})
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def test_cursor_carries_its_sort_when_sort_is_omitted(client):
    make_users(3, names=["c", "a", "b"])
    first = client.get(URL, {"limit": "1", "sort": "name"}).json()
    second = client.get(URL, {"limit": "1", "cursor": first["next_cursor"]}).json()
    assert [first["items"][0]["name"], second["items"][0]["name"]] == ["a", "b"]


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "a:b:c", "", "%00", "x" * 5000, signing.dumps({"m": "auth_app.user"}, salt=CURSOR_SALT)],
)
def test_garbage_cursor_is_400_never_500(client, cursor):
    make_users(2)
    response = client.get(URL, {"limit": "1", "cursor": cursor})
    assert response.status_code == 400  # an empty cursor too
    assert response.json()["code"] == "invalid_cursor"


def test_tampered_cursor_is_invalid(client):
    make_users(3)
    cursor = client.get(URL, {"limit": "1"}).json()["next_cursor"]
    payload = signing.loads(cursor, salt=CURSOR_SALT)
    forged = signing.dumps(payload, salt="another-salt", compress=True)
    flipped = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    for bad in (forged, flipped):
        response = client.get(URL, {"limit": "1", "cursor": bad})
        assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def test_signed_cursor_with_unparsable_value_is_invalid(client):
    make_users(2)
    bad_value = signing.dumps({"m": "auth_app.user", "s": "-created_at", "v": "not-a-date", "k": "x"}, salt=CURSOR_SALT)
    bad_pk = signing.dumps(
        {"m": "auth_app.user", "s": "-created_at", "v": timezone.now().isoformat(), "k": "nope"}, salt=CURSOR_SALT
    )
    for bad in (bad_value, bad_pk):
        response = client.get(URL, {"cursor": bad})
        assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def test_cursor_for_another_model_is_invalid():
    from django.contrib.auth.models import Group

    sort = parse_sort(Group, "name", ordering_fields=["name"], default_ordering="name")
    group = Group.objects.create(name="g")
    cursor = encode_cursor(Group, sort, group)
    with pytest.raises(ValidationFailed) as caught:
        keyset_page(User.objects.all(), cursor=cursor, ordering_fields=["name"], default_ordering="name")
    assert caught.value.code == "invalid_cursor"


def test_parse_limit_defaults_and_bounds(settings):
    settings.API_PAGE_SIZE_DEFAULT = 20
    settings.API_PAGE_SIZE_MAX = 100
    assert parse_limit(None) == 20
    assert parse_limit("100") == 100
    assert parse_limit(7) == 7
    with pytest.raises(ValidationFailed):
        parse_limit("101")


def test_sort_mapping_exposes_public_names():
    spec = parse_sort(User, "-joined", ordering_fields={"joined": "created_at"}, default_ordering="-joined")
    assert spec.field.name == "created_at" and spec.descending and spec.token == "-joined"


def test_nullable_or_missing_sort_field_is_improperly_configured():
    from django.contrib.auth.models import Group

    with pytest.raises(ImproperlyConfigured, match="nullable"):
        parse_sort(User, "last_login", ordering_fields=["last_login"], default_ordering="-created_at")
    with pytest.raises(ImproperlyConfigured, match="no field"):
        parse_sort(User, "nope", ordering_fields=["nope"], default_ordering="-created_at")
    with pytest.raises(ImproperlyConfigured, match="plain column"):
        parse_sort(User, "groups", ordering_fields=["groups"], default_ordering="-created_at")
    assert parse_sort(Group, None, ordering_fields=[], default_ordering="-pk").field.primary_key


def test_pk_sort_walks_in_pk_order():
    make_users(5)
    seen = []
    cursor = None
    while True:
        page = keyset_page(User.objects.all(), limit=2, cursor=cursor, default_ordering="pk")
        seen.extend(page.items)
        if not page.has_more:
            break
        cursor = page.next_cursor
    assert [u.pk for u in seen] == list(User.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (models.DateTimeField(), dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.UTC)),
        (models.DecimalField(max_digits=12, decimal_places=4), Decimal("-12345678.0001")),
        (models.BigIntegerField(), 2**62),
        (models.UUIDField(), __import__("uuid").UUID("12345678-1234-5678-1234-567812345678")),
        (models.CharField(max_length=10), "żółw:é"),
        (models.DateField(), dt.date(1999, 12, 31)),
        (models.BooleanField(), False),
    ],
)
def test_cursor_values_round_trip_through_to_python(field, value):
    field.set_attributes_from_name("sortkey")

    class Row:
        sortkey = value
        pk = 7

    spec = SortSpec(name="sortkey", field=field, descending=False)
    model = User  # any model: the label is only checked for equality
    cursor = encode_cursor(model, spec, Row())  # type: ignore[arg-type]
    _token, raw_value, raw_pk = decode_cursor(model, spec, cursor)
    assert _to_python(field, raw_value) == value
    assert raw_pk == "7"


def test_schema_documents_parameters_and_envelope():
    from common.tests.urls import UserList

    paginator = KeysetPagination()
    params = {p["name"]: p for p in paginator.get_schema_operation_parameters(UserList())}
    assert set(params) == {"limit", "cursor", "sort"}
    assert params["limit"]["schema"]["maximum"] == 100
    assert set(params["sort"]["schema"]["enum"]) == {
        f"{sign}{name}" for name in ("created_at", "name", "email", "is_staff") for sign in ("", "-")
    }
    schema = paginator.get_paginated_response_schema({"type": "array"})
    assert schema["properties"]["items"] == {"type": "array"}
    assert set(schema["required"]) == {"items", "next_cursor", "has_more"}


def test_openapi_generation_uses_the_paginator():
    from drf_spectacular.generators import SchemaGenerator

    from common.tests import urls

    patterns = [p for p in urls.urlpatterns if getattr(p, "name", None) == "test-users"]
    generator = SchemaGenerator(patterns=patterns)
    schema = generator.get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/test/users"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"limit", "cursor", "sort"}
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    ref = body["$ref"].split("/")[-1]
    assert set(schema["components"]["schemas"][ref]["properties"]) == {"items", "next_cursor", "has_more"}
