"""The platform JSON form round-trips datetimes (UTC), UUIDs and Decimals, and agrees with DRF."""

import datetime as dt
import decimal
import enum
import json
import uuid

import pytest
from django.utils.dateparse import parse_duration
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from common.renderers import JSONRenderer
from common.serialization import JSONEncoder, format_datetime, json_dumps, json_loads, parse_datetime, to_jsonable

offsets = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59)),
)
# hypothesis takes naive bounds and attaches `timezones` itself
EARLIEST = dt.datetime(1900, 1, 2, tzinfo=dt.UTC).replace(tzinfo=None)
LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC).replace(tzinfo=None)
aware_datetimes = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=offsets)
decimals = st.decimals(allow_nan=False, allow_infinity=False)


@given(aware_datetimes)
def test_datetimes_leave_as_utc_z_and_come_back_as_the_same_instant(value):
    text = to_jsonable(value)
    assert text.endswith("Z") and "+" not in text
    back = parse_datetime(text)
    assert back == value and back.utcoffset() == dt.timedelta(0)


@given(st.datetimes(min_value=EARLIEST, max_value=LATEST))
def test_naive_datetimes_are_taken_as_utc(value):
    assert parse_datetime(format_datetime(value)) == value.replace(tzinfo=dt.UTC)


@given(st.uuids())
def test_uuids_round_trip(value):
    assert uuid.UUID(json_loads(json_dumps(value))) == value


@given(decimals)
def test_decimals_are_plain_strings_and_round_trip_exactly(value):
    text = json_loads(json_dumps({"amount": value}))["amount"]
    assert isinstance(text, str) and "E" not in text.upper()
    assert decimal.Decimal(text) == value


@given(st.timedeltas())
def test_timedeltas_are_iso_durations(value):
    assert parse_duration(to_jsonable(value)) == value


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_plain_json_values_are_unchanged(value):
    assert json_loads(json_dumps(value)) == value
    assert to_jsonable(value) == value


@given(st.dictionaries(st.text(max_size=5), st.one_of(aware_datetimes, st.uuids(), decimals), max_size=5))
def test_encoder_class_agrees_with_json_dumps(value):
    assert json.dumps(value, cls=JSONEncoder, separators=(",", ":"), ensure_ascii=False) == json_dumps(value)


@given(aware_datetimes)
def test_same_form_as_drf_serializer_output(value):
    """What a serializer's DateTimeField renders equals what goes on the channel layer and into webhooks."""
    assert serializers.DateTimeField().to_representation(value) == format_datetime(value)


def test_containers_enums_and_lazy_strings():
    class Colour(enum.Enum):
        RED = "red"

    value = {
        1: (dt.date(2026, 1, 2), dt.time(7, 40)),
        "set": frozenset([Colour.RED]),
        "label": gettext_lazy("Not found"),
        "nested": [{"id": uuid.UUID(int=1)}],
    }
    assert to_jsonable(value) == {
        "1": ["2026-01-02", "07:40:00"],
        "set": ["red"],
        "label": "Not found",
        "nested": [{"id": "00000000-0000-0000-0000-000000000001"}],
    }


def test_unknown_types_and_nan_are_refused():
    with pytest.raises(TypeError):
        json_dumps({"x": object()})
    with pytest.raises(ValueError):
        json_dumps(float("nan"))
    with pytest.raises(ValueError, match="offset"):
        parse_datetime("2026-01-01T00:00:00")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"])
def test_a_datetime_with_no_utc_instant_is_a_value_error(text):
    with pytest.raises(ValueError, match="out of range"):
        parse_datetime(text)


def test_drf_renderer_uses_the_platform_rules():
    body = JSONRenderer().render(
        {"at": dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=2))), "amount": decimal.Decimal("1.10")}
    )
    assert json.loads(body) == {"at": "2026-01-01T07:00:00Z", "amount": "1.10"}
    # DRF's own fallbacks still work (e.g. bytes)
    assert json.loads(JSONRenderer().render({"b": b"hi"})) == {"b": "hi"}
