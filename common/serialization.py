"""One JSON form for values that leave the process: REST bodies, channel-layer messages, webhooks, SSE.

- datetime: UTC, ISO 8601, "Z" for the zero offset, microseconds kept (what DRF renders with
  DATETIME_FORMAT="iso-8601"), e.g. "2026-11-26T07:40:00.123456Z". A naive datetime is taken as UTC.
- date / time: ISO 8601 ("2026-11-26", "07:40:00").
- UUID: the canonical hyphenated string.
- Decimal: a string in plain notation ("12.50", never "1.25E+1"), so no precision is lost.
- timedelta: ISO 8601 duration ("P1DT02H00M00S").
- Enum: its value; set / frozenset / tuple: a list; lazy translation strings: str.

`to_jsonable(obj)` converts a whole structure to plain JSON types; `json_dumps(obj)` writes it;
`JSONEncoder` is the same rules as a `json.JSONEncoder` subclass (e.g. `JsonResponse(encoder=...)`).
`parse_datetime(text)` reads the datetime form back (any offset), returning an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.utils.duration import duration_iso_string
from django.utils.functional import Promise

__all__ = [
    "JSONEncoder",
    "format_datetime",
    "json_default",
    "json_dumps",
    "json_loads",
    "parse_datetime",
    "to_jsonable",
    "utc_or_value_error",
]


def format_datetime(value: dt.datetime) -> str:
    """ISO 8601 in UTC with "Z"; a naive value is taken to be UTC already."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=dt.UTC)
    text = value.astimezone(dt.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ISO 8601 datetime with an offset ("Z" or "+hh:mm") into an aware UTC datetime."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"datetime {text!r} has no offset")
    return utc_or_value_error(value)


def utc_or_value_error(value: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC; ValueError when UTC has no such year (9999-12-31T23:00:00-02:00 is in
    year 10000). Converting first also spares PostgreSQL offsets past its own +-15:59 ("+23:59")."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError(f"{value.isoformat()} is out of range in UTC") from exc


def _format_decimal(value: decimal.Decimal) -> str:
    return format(value, "f") if value.is_finite() else str(value)


def json_default(obj: Any) -> Any:
    """The JSON form of one non-container value (a `default=` for json.dumps); TypeError if unknown."""
    if isinstance(obj, dt.datetime):
        return format_datetime(obj)
    if isinstance(obj, dt.date | dt.time):
        return obj.isoformat()
    if isinstance(obj, dt.timedelta):
        return duration_iso_string(obj)
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, decimal.Decimal):
        return _format_decimal(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, Promise):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def to_jsonable(obj: Any) -> Any:
    """Convert `obj` recursively to dicts, lists, strings, numbers, booleans and None."""
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, Mapping):
        return {str(key) if not isinstance(key, str) else key: to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(item) for item in obj]
    return json_default(obj)


class JSONEncoder(json.JSONEncoder):
    """A `json.JSONEncoder` with the rules above, for APIs that take an encoder class."""

    def default(self, o: Any) -> Any:
        if isinstance(o, set | frozenset):
            return [to_jsonable(item) for item in o]
        return json_default(o)


def json_dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON with the rules above; NaN and Infinity floats are refused (they are not JSON)."""
    kwargs.setdefault("separators", (",", ":"))
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(to_jsonable(obj), allow_nan=False, **kwargs)


def json_loads(text: str | bytes) -> Any:
    """Parse JSON; numbers with a fraction stay floats (Decimals travel as strings, see above)."""
    return json.loads(text)
