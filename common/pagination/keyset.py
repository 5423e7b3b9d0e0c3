"""Keyset pagination as plain functions: sort and limit parsing, signed cursors, one page."""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import F, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

from common.errors import FieldError, ValidationFailed

CURSOR_SALT = "common.pagination.cursor"
LIMIT_PARAM = "limit"
CURSOR_PARAM = "cursor"
SORT_PARAM = "sort"

OrderingFields = Sequence[str] | Mapping[str, str]
M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a keyset-paginated list."""

    items: list[M]
    next_cursor: str | None
    has_more: bool


@dataclass(frozen=True)
class SortSpec:
    """A validated sort: the public name the client used, the model field, and the direction."""

    name: str
    field: models.Field[Any, Any]
    descending: bool

    @property
    def token(self) -> str:
        """The `?sort=` value that selects this sort, e.g. `-created_at`."""
        return f"-{self.name}" if self.descending else self.name


def _fields_map(ordering_fields: OrderingFields) -> dict[str, str]:
    if isinstance(ordering_fields, Mapping):
        return dict(ordering_fields)
    return {name: name for name in ordering_fields}


def _sort_field(model: type[models.Model], field_name: str) -> models.Field[Any, Any]:
    """The model field behind a sort; it must be a concrete, non-nullable column of the model itself."""
    if field_name == "pk":
        return model._meta.pk
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist as exc:
        raise ImproperlyConfigured(f"{model.__name__} has no field {field_name!r} to sort by") from exc
    if not isinstance(field, models.Field) or not field.concrete or field.is_relation:
        raise ImproperlyConfigured(f"{model.__name__}.{field_name} is not a plain column and cannot be a sort key")
    if field.null:
        raise ImproperlyConfigured(
            f"{model.__name__}.{field_name} is nullable; keyset sort keys must be NOT NULL (NULLs do not compare)"
        )
    return field


def parse_sort(
    model: type[models.Model],
    sort: str | None,
    *,
    ordering_fields: OrderingFields,
    default_ordering: str,
) -> SortSpec:
    """Validate `?sort=` against the allow-list (the default sort is always allowed).

    Raises `ValidationFailed(code="invalid_sort")` for a value outside the allow-list and
    `ImproperlyConfigured` when the view's configuration names a missing or nullable field.
    """
    allowed = _fields_map(ordering_fields)
    default_name = default_ordering.lstrip("-")
    allowed.setdefault(default_name, default_name)
    token = (sort or "").strip() or default_ordering
    descending = token.startswith("-")
    name = token[1:] if descending else token
    if name not in allowed:
        choices = ", ".join(sorted(allowed))
        raise ValidationFailed(
            f"Cannot sort by {name!r}; use one of: {choices} (prefix with '-' for descending).",
            code="invalid_sort",
            errors=[FieldError(attr=SORT_PARAM, code="invalid_sort", detail=f"Allowed: {choices}.")],
        )
    return SortSpec(name=name, field=_sort_field(model, allowed[name]), descending=descending)


def parse_limit(raw: str | int | None, *, default: int | None = None, maximum: int | None = None) -> int:
    """Validate `?limit=`: a whole number 1..API_PAGE_SIZE_MAX; absent means API_PAGE_SIZE_DEFAULT."""
    maximum = maximum or int(settings.API_PAGE_SIZE_MAX)
    if raw is None or raw == "":
        return default or int(settings.API_PAGE_SIZE_DEFAULT)
    text = str(raw)
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else 0
    if not 1 <= value <= maximum:
        raise ValidationFailed(
            f"limit must be a whole number from 1 to {maximum}.",
            code="invalid_limit",
            errors=[FieldError(attr=LIMIT_PARAM, code="invalid_limit", detail=f"Use 1 to {maximum}.")],
        )
    return value


# --- Cursor encoding ------------------------------------------------------------------------------


def _invalid_cursor(detail: str = "The cursor is invalid or expired; start again without one.") -> ValidationFailed:
    return ValidationFailed(
        detail,
        code="invalid_cursor",
        errors=[FieldError(attr=CURSOR_PARAM, code="invalid_cursor", detail=detail)],
    )


def encode_cursor(model: type[models.Model], sort: SortSpec, last: models.Model, scope: str = "") -> str:
    """Sign the position after `last`: the sort, its value of the sort field, and its primary key.

    `scope` (e.g. a digest of the list's filters) binds the cursor to the list it came from.
    """
    payload = {
        "m": model._meta.label_lower,
        "s": sort.token,
        "v": sort.field.value_to_string(last),
        "k": str(last.pk),
    }
    if scope:
        payload["f"] = scope
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def decode_cursor(
    model: type[models.Model], sort: SortSpec | None, cursor: str, scope: str = ""
) -> tuple[str, Any, Any]:
    """Check a cursor's signature and return `(sort token, last value, last pk)` as Python values.

    With `sort=None` the cursor's own sort is accepted; otherwise it must match. Anything wrong
    (garbage, tampering, another model or sort, an unparsable value) is `invalid_cursor`.
    """
    try:
        payload = signing.loads(cursor, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError) as exc:
        raise _invalid_cursor() from exc
    if not isinstance(payload, dict) or not {"m", "s", "v", "k"} <= payload.keys():
        raise _invalid_cursor()
    if payload["m"] != model._meta.label_lower or not isinstance(payload["s"], str):
        raise _invalid_cursor("The cursor belongs to another list.")
    if sort is not None and payload["s"] != sort.token:
        raise _invalid_cursor("The cursor was made under another sort; send the same `sort` or none.")
    if payload.get("f", "") != scope:
        raise _invalid_cursor("The cursor was made with other filters; send the same filters with it.")
    return payload["s"], payload["v"], payload["k"]


def _to_python(field: models.Field[Any, Any], value: Any) -> Any:
    try:
        parsed = field.to_python(value)
    except (ValidationError, ValueError, TypeError, decimal.InvalidOperation) as exc:
        raise _invalid_cursor() from exc
    if parsed is None:
        raise _invalid_cursor()
    return parsed


# --- The page itself ------------------------------------------------------------------------------


def keyset_page(
    queryset: QuerySet[M],
    *,
    sort: str | None = None,
    limit: str | int | None = None,
    cursor: str | None = None,
    ordering_fields: OrderingFields = (),
    default_ordering: str = "-pk",
    scope: str = "",
) -> Page[M]:
    """Return one page of `queryset` (already filtered) after `cursor`, ordered by `sort` then pk.

    `sort`, `limit` and `cursor` are the raw query-parameter values (None when absent); bad ones
    raise `ValidationFailed` with code `invalid_sort`, `invalid_limit` or `invalid_cursor`. `scope`
    names the filtered list (KeysetPagination passes a digest of the filter parameters): a cursor
    from another scope is `invalid_cursor`, so a client that drops its filters on page 2 is told.
    """
    model = queryset.model
    size = parse_limit(limit)
    spec = (
        parse_sort(model, sort, ordering_fields=ordering_fields, default_ordering=default_ordering)
        if (sort or not cursor)
        else None
    )
    pk_field = model._meta.pk
    assert pk_field is not None  # noqa: S101 - every concrete model has one

    if cursor:
        token, raw_value, raw_pk = decode_cursor(model, spec, cursor, scope)
        if spec is None:
            spec = parse_sort(model, token, ordering_fields=ordering_fields, default_ordering=default_ordering)
        last_value = _to_python(spec.field, raw_value)
        last_pk = _to_python(pk_field, raw_pk)
    assert spec is not None  # noqa: S101 - set above from `sort` or from the cursor
    op = "lt" if spec.descending else "gt"
    is_pk_sort = spec.field.primary_key
    if cursor:
        after = Q(**{f"pk__{op}": last_pk})
        if is_pk_sort:
            queryset = queryset.filter(after)
        else:
            # The row comparison `(f, pk) > (v, k)`: the same rows as `f > v OR (f = v AND pk > k)`, but
            # one range an index on (f, pk) seeks to, so a deep page inside a long run of equal values
            # costs what the first page does. (Django's tuple lookups; rewritten as the OR on
            # databases without row values.)
            row = TupleLessThan if spec.descending else TupleGreaterThan
            queryset = queryset.filter(row(Tuple(F(spec.field.name), F("pk")), (last_value, last_pk)))

    sign = "-" if spec.descending else ""
    keys = [f"{sign}pk"] if is_pk_sort else [f"{sign}{spec.field.name}", f"{sign}pk"]
    rows = list(queryset.order_by(*keys)[: size + 1])
    has_more = len(rows) > size
    items = rows[:size]
    next_cursor = encode_cursor(model, spec, items[-1], scope) if has_more else None
    return Page(items=items, next_cursor=next_cursor, has_more=has_more)
