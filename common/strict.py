"""Strict input, once for every API: JSON types are not coerced, and query parameters are exact.

Bodies (DRF serializers): subclass `Serializer` / `ModelSerializer` from here (or add
`StrictInputMixin`). Before DRF's own coercion runs, each writable field's JSON value must already
have the field's type:

- string fields (CharField and its subclasses: EmailField, SlugField, URLField, RegexField, ...;
  UUIDField, ChoiceField with string choices, date/time fields) take a JSON string only, so
  `{"name": 0}` is 400, not the string "0";
- BooleanField takes `true` or `false` only (not 0, "no", "off");
- IntegerField takes a JSON integer only (not "3", not "٣", not true); FloatField a number;
- lists and nested serializers are checked element by element.
`null` is left to the field's own `allow_null`. The error is the field's usual `invalid` code.

Request bodies are JSON only (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): a form encoding is 415, and a
view that takes a file upload names MultiPartParser itself. The browsable API still works through its
"Raw data" tab.

Query parameters: `query_param()` (and `query_int()`, `query_bool()`) read a parameter that may be
absent but, when present, is sent once and not empty (`?sort=`, `?limit=` are 400, not "absent");
integers are ASCII digits (`?after=٣` is 400). `StrictFilterSet` applies the same to django-filter
filters.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.fields import empty

from common.errors import FieldError, ValidationFailed
from common.serialization import utc_or_value_error
from common.serializers import StorableJSONField

STRING_FIELDS: tuple[type[serializers.Field[Any, Any, Any, Any]], ...] = (
    serializers.CharField,
    serializers.UUIDField,
    serializers.DateTimeField,
    serializers.DateField,
    serializers.TimeField,
    serializers.DurationField,
)
TYPE_MESSAGES = {
    "string": "Not a valid string.",
    "boolean": "Must be true or false.",
    "integer": "A valid integer is required.",
    "number": "A valid number is required.",
}


def _expected_type(field: serializers.Field[Any, Any, Any, Any]) -> str | None:
    if isinstance(field, serializers.BooleanField):
        return "boolean"
    if isinstance(field, serializers.IntegerField):
        return "integer"
    if isinstance(field, serializers.FloatField):
        return "number"
    if isinstance(field, STRING_FIELDS):
        return "string"
    if isinstance(field, serializers.ChoiceField) and all(isinstance(key, str) for key in field.choices):
        return "string"
    return None


def _has_type(value: Any, expected: str) -> bool:
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def type_errors(field: serializers.Field[Any, Any, Any, Any], value: Any) -> Any:
    """The errors of `value` against `field`'s JSON type (a list, or a dict for lists/objects); None if fine."""
    if value is None or value is empty:
        return None
    if isinstance(field, serializers.ListField | serializers.ListSerializer) and isinstance(value, list):
        child = field.child
        if child is None:
            return None
        found = {index: errors for index, item in enumerate(value) if (errors := type_errors(child, item))}
        return found or None
    if isinstance(field, serializers.Serializer) and isinstance(value, Mapping):
        return _mapping_errors(field, value)
    expected = _expected_type(field)
    if expected is None or _has_type(value, expected):
        return None
    return [serializers.ErrorDetail(TYPE_MESSAGES[expected], code="invalid")]


def _mapping_errors(serializer: serializers.Serializer[Any], data: Mapping[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    for field in serializer._writable_fields:
        name = field.field_name
        if field.source == "*" or name is None:
            continue
        errors = type_errors(field, data.get(name, empty))
        if errors:
            found[name] = errors
    return found or None


class StrictInputMixin:
    """Check every writable field's JSON type before DRF coerces it (see the module docstring)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = _mapping_errors(self, data)  # type: ignore[arg-type]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class Serializer(StrictInputMixin, serializers.Serializer[Any]):
    """The base of every request serializer. Its declared fields are copied with `copy_unbound_field`."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {name: copy_unbound_field(field) for name, field in self._declared_fields.items()}


class ModelSerializer(StrictInputMixin, serializers.ModelSerializer[Any]):
    """The base of every model serializer. Its model JSONFields become `StorableJSONField`s (text
    PostgreSQL can store, common/serializers.py); its text fields are DRF CharFields, which refuse it too.

    Its fields are built from the model once per class and copied for each instance: DRF rebuilds them
    from the model's metadata on every instantiation (~0.1 ms for six fields, a tenth of a small API
    request, issue 8). What DRF derives here depends on the class and its Meta only, never on the
    instance or its context; a subclass whose `get_fields` does must override it without `super()`.
    Each copy is shallow where that is safe (`copy_unbound_field`).
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.JSONField: StorableJSONField,
    }

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        built = type(self).__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built_once = built  # type: ignore[attr-defined]
        return {name: copy_unbound_field(field) for name, field in built.items()}


def copy_unbound_field(field: serializers.Field[Any, Any, Any, Any]) -> serializers.Field[Any, Any, Any, Any]:
    """An independent copy of a field not yet bound to a serializer, for binding to a new one.

    DRF's `deepcopy` of a field calls its constructor again with deep copies of its arguments (most of
    a small read's serializer cost, issue 8). A field without children is a copy of its attributes:
    `bind` then sets the per-serializer ones (name, parent, source) on the copy alone, and the shared
    rest (error messages, choices, validators, a related field's queryset, which DRF re-clones with
    `.all()` per use) is only read after construction. A field holding other fields (a nested
    serializer, a list or dict field's `child`, a many-related field's `child_relation`) is bound to
    them, so it is deep-copied as DRF does.
    """
    if isinstance(field, serializers.BaseSerializer) or "child" in vars(field) or "child_relation" in vars(field):
        return copy.deepcopy(field)
    clone = object.__new__(type(field))
    clone.__dict__.update(vars(field))
    return clone


# --- Query parameters -----------------------------------------------------------------------------


QUERY_PARAMETER_CODE = "invalid_query_parameter"


def _bad_param(name: str, detail: str, *, code: str, problem_code: str) -> ValidationFailed:
    return ValidationFailed(
        f"Query parameter `{name}`: {detail}",
        code=problem_code,
        errors=[FieldError(attr=name, code=code, detail=detail)],
    )


def query_param(params: Mapping[str, Any], name: str, *, problem_code: str = QUERY_PARAMETER_CODE) -> str | None:
    """`name` from the query string: None when absent; 400 `problem_code` when empty, given more than once
    or holding U+0000 (PostgreSQL refuses it in a text parameter: it would be a 500)."""
    if name not in params:
        return None
    values = params.getlist(name) if isinstance(params, QueryDict) else [params[name]]
    if len(values) != 1:
        raise _bad_param(name, "give it at most once.", code="multiple", problem_code=problem_code)
    value = str(values[0])
    if value.strip() == "":
        raise _bad_param(name, "may not be empty; leave it out instead.", code="blank", problem_code=problem_code)
    if "\x00" in value:
        raise _bad_param(
            name, "may not contain NUL (U+0000).", code="null_characters_not_allowed", problem_code=problem_code
        )
    return value


def parse_ascii_int(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number written in ASCII digits (no sign, no spaces, no other scripts' digits); ValueError else."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ValueError(text)
    value = int(text)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(text)
    return value


def query_int(
    params: Mapping[str, Any], name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """An integer query parameter (ASCII digits, within the bounds); None when absent, 400 when invalid."""
    raw = query_param(params, name)
    if raw is None:
        return None
    try:
        return parse_ascii_int(raw, minimum=minimum, maximum=maximum)
    except ValueError:
        bounds = f" from {minimum}" if minimum is not None else ""
        bounds += f" to {maximum}" if maximum is not None else ""
        detail = f"must be a whole number{bounds} in ASCII digits."
        raise _bad_param(name, detail, code="invalid", problem_code=QUERY_PARAMETER_CODE) from None


def query_bool(params: Mapping[str, Any], name: str) -> bool | None:
    """`true` or `false`; None when absent, 400 for anything else."""
    raw = query_param(params, name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise _bad_param(name, "must be true or false.", code="invalid", problem_code=QUERY_PARAMETER_CODE)
    return raw == "true"


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet whose parameters, when present, are sent once and not empty (else 400), and whose
    datetimes are UTC before they reach a query: `created_after=0001-01-01T00:00:00+23:59` is 400 (no
    such instant in UTC), where it was a 500 from the database on both backends."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        form: forms.Form = self.form
        for name, value in list(getattr(form, "cleaned_data", {}).items()):
            if isinstance(value, dt.datetime) and value.utcoffset() is not None:
                try:
                    form.cleaned_data[name] = utc_or_value_error(value)
                except ValueError:
                    form.add_error(name, forms.ValidationError("Out of range once converted to UTC.", code="invalid"))
        for name in self.filters:
            if name not in self.data:
                continue
            values = self.data.getlist(name) if isinstance(self.data, QueryDict) else [self.data[name]]
            if len(values) != 1:
                form.add_error(name, forms.ValidationError("Give it at most once.", code="multiple"))
            elif str(values[0]).strip() == "":
                form.add_error(name, forms.ValidationError("May not be empty; leave it out instead.", code="blank"))
        return valid and not form.errors
