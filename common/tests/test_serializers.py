"""Text PostgreSQL can store: the check, the JSON field, and DRF's own CharField guard it relies on."""

import pytest
from django.db import models
from rest_framework import serializers

from common.serializers import UNSTORABLE_TEXT, StorableJSONField, storable_text_problem
from common.strict import ModelSerializer

UNSTORABLE = ["nul\x00", "lone \ud800", "\udfff"]


@pytest.mark.parametrize(
    "value",
    [*UNSTORABLE, {"k": "\x00"}, {"\ud800": 1}, [1, ["deep", {"x": "\udc00"}]], ("t", "\x00")],
)
def test_unstorable_text_is_found_anywhere_in_a_value(value):
    assert storable_text_problem(value)


@pytest.mark.parametrize("value", ["", "plain", "emoji 😀 é \u2028", {"k": ["v", 1, None, 2.5]}, 7, None, True])
def test_storable_values_pass(value):
    assert storable_text_problem(value) is None


class _Payload(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    email = serializers.EmailField(required=False)
    data = StorableJSONField(required=False)  # type: ignore[assignment]  # the field, not Serializer.data


@pytest.mark.parametrize("text", UNSTORABLE)
def test_drf_char_fields_refuse_unstorable_text(text):
    """We rely on DRF's CharField validators for every text field: an upgrade that drops them fails here."""
    for payload in ({"name": text}, {"name": "x", "email": f"a{text}@example.com"}):
        form = _Payload(data=payload)
        assert not form.is_valid()


@pytest.mark.parametrize("data", [{"k": "nul\x00"}, {"\ud800": 1}, {"a": [{"b": "\udc00"}]}, ["\x00"]])
def test_storable_json_field_refuses_unstorable_text_at_any_depth(data):
    form = _Payload(data={"name": "x", "data": data})
    assert not form.is_valid()
    assert form.errors["data"][0].code == UNSTORABLE_TEXT


def test_storable_json_field_keeps_ordinary_json():
    form = _Payload(data={"name": "x", "data": {"a": [1, "two", {"three": None}]}})
    assert form.is_valid(), form.errors
    assert form.validated_data["data"] == {"a": [1, "two", {"three": None}]}


def test_model_json_fields_map_to_the_storable_field():
    assert ModelSerializer.serializer_field_mapping[models.JSONField] is StorableJSONField
    assert ModelSerializer.serializer_field_mapping[models.CharField] is serializers.CharField
