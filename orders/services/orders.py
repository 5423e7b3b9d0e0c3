"""Order writes: create (totals computed here), update the mutable fields, cancel, fulfil."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import FieldError, NotFound, PermissionDenied, ValidationFailed

from ..currencies import currency_normalise
from ..models import ChangeCause, Order, OrderItem, OrderStatus
from ..selectors import order_visible
from .state import order_status_set

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX_CHARS = 40
METADATA_VALUE_MAX_CHARS = 500
SKU_MAX_CHARS = 64
NAME_MAX_CHARS = 200
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
# Statuses a client may ask for in PATCH; `fulfilled` is staff only. Payment states come from Stripe.
API_STATUSES = {OrderStatus.CANCELLED: False, OrderStatus.FULFILLED: True}


def _invalid(attr: str, detail: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(detail, errors=[FieldError(attr=attr, code=code, detail=detail)])


def _too_large(attr: str, detail: str) -> ValidationFailed:
    return ValidationFailed(
        detail, code="amount_too_large", errors=[FieldError(attr=attr, code="amount_too_large", detail=detail)]
    )


def _text(value: Any, attr: str, max_chars: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise _invalid(attr, f"{attr} must be a string.")
    if required and not value.strip():
        raise _invalid(attr, f"{attr} must not be empty.", "required")
    if len(value) > max_chars:
        raise _invalid(attr, f"{attr} is longer than {max_chars} characters.", "max_length")
    if "\x00" in value:
        raise _invalid(attr, f"{attr} must not contain the NUL character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _invalid(attr, f"{attr} must not contain a lone surrogate.") from exc
    return value


def _whole(value: Any, attr: str, *, minimum: int, maximum: int, too_large: bool = True) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(attr, f"{attr} must be a whole number.")
    if value < minimum:
        raise _invalid(attr, f"{attr} must be at least {minimum}.", "min_value")
    if value > maximum:
        if too_large:
            raise _too_large(attr, f"{attr} must be at most {maximum}.")
        raise _invalid(attr, f"{attr} must be at most {maximum}.", "max_value")
    return value


def clean_currency(value: Any, attr: str = "currency") -> str:
    code = currency_normalise(value)
    if code is None:
        raise _invalid(attr, "currency must be an ISO 4217 code such as `usd`, `eur` or `jpy`.", "invalid_currency")
    return code


def clean_email(value: Any, attr: str = "customer_email") -> str:
    email = _text(value, attr, 254)
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise _invalid(attr, "Enter a valid email address.") from exc
    return email


def clean_metadata(value: Any, attr: str = "metadata") -> dict[str, str]:
    """Stripe's metadata rules: at most 50 keys of up to 40 characters, string values of up to 500."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _invalid(attr, "metadata must be a JSON object of strings.")
    if len(value) > METADATA_MAX_KEYS:
        raise _invalid(attr, f"metadata may have at most {METADATA_MAX_KEYS} keys.", "too_many_keys")
    clean: dict[str, str] = {}
    for key, item in value.items():
        _text(key, f"{attr}.{key}", METADATA_KEY_MAX_CHARS, required=True)
        if "[" in key or "]" in key:
            raise _invalid(f"{attr}.{key}", "metadata keys may not contain square brackets.")
        if not isinstance(item, str):  # strict input: a number is not silently turned into a string
            raise _invalid(f"{attr}.{key}", "metadata values must be strings.")
        clean[key] = _text(item, f"{attr}.{key}", METADATA_VALUE_MAX_CHARS)
    return clean


def clean_items(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise _invalid("items", "items must be a list.")
    if not items:
        raise _invalid("items", "An order needs at least one item.", "required")
    if len(items) > settings.ORDERS_MAX_ITEMS:
        raise _invalid("items", f"An order may have at most {settings.ORDERS_MAX_ITEMS} items.", "too_many_items")
    clean = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _invalid(f"items.{index}", "Each item must be an object.")
        quantity = _whole(
            item.get("quantity"),
            f"items.{index}.quantity",
            minimum=1,
            maximum=settings.ORDERS_MAX_QUANTITY,
            too_large=False,
        )
        unit_amount = _whole(
            item.get("unit_amount"), f"items.{index}.unit_amount", minimum=0, maximum=settings.ORDERS_MAX_AMOUNT
        )
        clean.append(
            {
                "sku": _text(item.get("sku"), f"items.{index}.sku", SKU_MAX_CHARS, required=True),
                "name": _text(item.get("name", ""), f"items.{index}.name", NAME_MAX_CHARS),
                "quantity": quantity,
                "unit_amount": unit_amount,
                "line_total": quantity * unit_amount,
            }
        )
    return clean


def order_totals(items: Sequence[Mapping[str, Any]]) -> tuple[int, int, int]:
    """(subtotal, tax, total) in minor units; tax is ORDERS_TAX_RATE_BPS of the subtotal, rounded half up."""
    subtotal = sum(int(item["line_total"]) for item in items)
    tax = (subtotal * int(settings.ORDERS_TAX_RATE_BPS) + 5000) // 10000
    return subtotal, tax, subtotal + tax


def order_number_new() -> str:
    return "ORD-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(10))


@transaction.atomic
def order_create(
    *,
    owner: Any,
    currency: Any,
    items: Any,
    customer_email: Any = "",
    metadata: Any = None,
    shipping_notes: Any = "",
) -> Order:
    """Create an order with its lines; totals are computed here. Raises `ValidationFailed` (400)."""
    code = clean_currency(currency)
    lines = clean_items(items)
    subtotal, tax, total = order_totals(lines)
    if total > settings.ORDERS_MAX_AMOUNT:
        raise _too_large("items", f"The order total {total} exceeds the maximum of {settings.ORDERS_MAX_AMOUNT}.")
    fields = {
        "owner": owner,
        "currency": code,
        "subtotal": subtotal,
        "tax": tax,
        "total": total,
        "customer_email": clean_email(customer_email or ""),
        "metadata": clean_metadata(metadata),
        "shipping_notes": _text(shipping_notes or "", "shipping_notes", settings.ORDERS_SHIPPING_NOTES_MAX_CHARS),
    }
    for attempt in range(3):
        try:
            with transaction.atomic():
                order = Order.objects.create(number=order_number_new(), **fields)
            break
        except IntegrityError:  # a number collision (50 random bits): draw again
            if attempt == 2:
                raise
    OrderItem.objects.bulk_create([OrderItem(order=order, position=i, **line) for i, line in enumerate(lines)])
    return order


def _locked(*, user: Any, order_id: Any) -> Order:
    order = order_visible(user=user, order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    return Order.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def order_update(*, user: Any, order_id: Any, changes: Mapping[str, Any], cause: str = ChangeCause.API) -> Order:
    """Change the mutable fields (metadata replaces the whole object; customer_email; shipping_notes)
    and, through the state machine, `status` (`cancelled`; `fulfilled` for staff)."""
    order = _locked(user=user, order_id=order_id)
    update: dict[str, Any] = {}
    if "metadata" in changes:
        update["metadata"] = clean_metadata(changes["metadata"])
    if "customer_email" in changes:
        update["customer_email"] = clean_email(changes["customer_email"] or "")
    if "shipping_notes" in changes:
        update["shipping_notes"] = _text(
            changes["shipping_notes"] or "", "shipping_notes", settings.ORDERS_SHIPPING_NOTES_MAX_CHARS
        )
    if "status" in changes:
        target = changes["status"]
        if target not in API_STATUSES:
            raise _invalid(
                "status", "status may only be set to `cancelled` or `fulfilled` (payments come from Stripe)."
            )
        if API_STATUSES[target] and not getattr(user, "is_staff", False):
            raise PermissionDenied("Only staff may mark an order fulfilled.")
        order_status_set(order=order, status=target, cause=cause, actor=user)
        update["status"] = order.status
    for name, value in update.items():
        setattr(order, name, value)
    order.updated_at = timezone.now()
    order.save()
    return order


def order_cancel(*, user: Any, order_id: Any) -> Order:
    return order_update(user=user, order_id=order_id, changes={"status": OrderStatus.CANCELLED})
