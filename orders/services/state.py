"""The order state machine: every change of `status` or `payment_status` goes through here and is audited."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from common.errors import Conflict

from ..models import ChangeCause, Order, OrderStatus, OrderStatusChange

S = OrderStatus

# status -> the statuses it may move to. `refunded` and `cancelled` are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PAID, S.PAYMENT_FAILED, S.CANCELLED}),
    S.PAYMENT_FAILED: frozenset({S.PAID, S.PAYMENT_FAILED, S.CANCELLED}),
    S.PAID: frozenset({S.FULFILLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.FULFILLED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.FULFILLED}),
    S.REFUNDED: frozenset(),
    S.CANCELLED: frozenset(),
}


def transition_allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def illegal_transition(order: Order, target: str) -> Conflict:
    return Conflict(
        f"The order is {order.status}; it cannot become {target}.",
        code="illegal_transition",
        extra={"current_status": order.status, "requested_status": target},
    )


def _audit(order: Order, *, field: str, old: str, new: str, cause: str, actor: Any, event_id: str) -> None:
    OrderStatusChange.objects.create(
        order=order,
        field=field,
        from_status=old,
        to_status=new,
        cause=cause,
        actor=actor if getattr(actor, "pk", None) else None,
        stripe_event_id=event_id,
    )


def order_status_set(
    *,
    order: Order,
    status: str,
    cause: str = ChangeCause.API,
    actor: Any = None,
    event_id: str = "",
) -> bool:
    """Move a (locked) order to `status` or raise 409 `illegal_transition`; returns whether it changed.

    The caller holds the row lock (select_for_update) and saves the order. A move to the current
    status is illegal too, except for the self-loops the table allows (another partial refund).
    """
    if not transition_allowed(order.status, status):
        raise illegal_transition(order, status)
    old = order.status
    order.status = status
    order.updated_at = timezone.now()
    if old != status:
        _audit(order, field="status", old=old, new=status, cause=cause, actor=actor, event_id=event_id)
    return old != status


def order_payment_status_set(
    *, order: Order, payment_status: str, cause: str, actor: Any = None, event_id: str = ""
) -> None:
    """Record what Stripe says about the money; any value may follow any other (Stripe is the authority)."""
    old = order.payment_status
    if old == payment_status:
        return
    order.payment_status = payment_status
    _audit(order, field="payment_status", old=old, new=payment_status, cause=cause, actor=actor, event_id=event_id)
