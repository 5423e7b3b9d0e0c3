"""Serializer fields every app uses for what it stores: text that PostgreSQL can hold.

PostgreSQL `text` and `jsonb` cannot hold U+0000, and a lone surrogate (valid in a JSON `"\\ud800"`
escape, not in UTF-8) cannot be encoded at all: either one reaching the database is a 500. DRF's
`CharField` (and so `EmailField`, `SlugField`, ...) already refuses both (its ProhibitNullCharacters
and ProhibitSurrogateCharacters validators; common/tests/test_serializers.py keeps that true), but a
`JSONField` checks nothing inside the value. So:

- `StorableJSONField`: a JSONField that refuses U+0000 and lone surrogates in every key and string
  inside the value (400 `validation_error`, the field's `code` "unstorable_text").
- `common.strict.ModelSerializer` (the base of every model serializer) maps model `JSONField`s to it.
- `storable_text_problem(value)`: the same check for services called without a serializer (tasks,
  other apps, WebSocket messages): why the string, or any string inside a JSON value, cannot be
  stored, or None.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

__all__ = ["UNSTORABLE_TEXT", "StorableJSONField", "storable_text_problem"]

UNSTORABLE_TEXT = "unstorable_text"


def storable_text_problem(value: Any) -> str | None:
    """Why a string (or any key or string inside a JSON value) cannot be stored, or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain the NUL character (U+0000)"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must not contain a lone surrogate (e.g. an unpaired \\ud800 escape)"
        return None
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    for item in items:
        problem = storable_text_problem(item)
        if problem:
            return problem
    return None


class StorableJSONField(serializers.JSONField):
    """A JSONField whose keys and strings, at any depth, PostgreSQL can store."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        problem = storable_text_problem(value)
        if problem:
            raise serializers.ValidationError(f"Text in this value {problem}.", code=UNSTORABLE_TEXT)
        return value
