"""Stripe webhooks: verify, store the event first, process it in Celery, never twice, never backwards.

Intake (`stripe_event_receive`, in the request): verify `Stripe-Signature` with the `stripe` package
against every configured secret (rotation), refuse timestamps older *or newer* than the tolerance
(stripe-python only refuses old ones), insert the event row (unique `event_id`: a duplicate, even a
concurrent one, is acknowledged and not stored again) and queue its task after commit. A broker that
is down then loses nothing: the row is `queued` and common.jobs' sweeper sends it later.

Processing (`stripe_event_apply`, in the task): one transaction that locks the order, compares the
event's `created` with the newest event already applied to it (an older one is `ignored`, it cannot
undo a newer one) and moves the order through the state machine (an illegal move is `ignored` too).
Events for no known order are `unmatched`; unknown types are `ignored`; both are kept.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from common.errors import ApplicationError, Conflict, NotFound
from common.jobs import job_enqueue, job_requeue
from notifications.services import notification_send

from ..currencies import amount_format
from ..models import ChangeCause, EventOutcome, Order, OrderStatus, PaymentStatus, StripeEvent
from ..selectors import as_uuid, stripe_event_get
from .state import order_payment_status_set, order_status_set, transition_allowed

logger = logging.getLogger(__name__)

# Headers kept with the event (the signature among them, for audits); nothing else of the request.
KEPT_HEADERS = ("Stripe-Signature", "User-Agent", "Content-Type", "X-Request-ID")


class SignatureInvalid(ApplicationError):
    status = 400
    code = "invalid_signature"
    default_detail = "The Stripe-Signature header does not verify against this endpoint's secrets."


@dataclass(frozen=True)
class Receipt:
    event: StripeEvent
    duplicate: bool


def _refuse(reason: str, *, ip: str | None, code: str = "invalid_signature") -> SignatureInvalid:
    logger.warning("stripe webhook refused: %s", reason, extra={"client_ip": ip, "reason": reason})
    return SignatureInvalid(f"Webhook refused: {reason}.", code=code)


def _header_timestamp(header: str) -> int:
    for part in header.split(","):
        name, _, value = part.partition("=")
        if name.strip() == "t":
            return int(value)
    raise ValueError("no timestamp")


def stripe_signature_verify(*, payload: bytes, header: str | None, secrets: list[str], ip: str | None = None) -> None:
    """Raise `SignatureInvalid` (400) unless `header` carries a v1 signature of `payload` by one of
    `secrets`, made within STRIPE_WEBHOOK_TOLERANCE_SECONDS of now in either direction."""
    tolerance = int(settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS)
    if not header:
        raise _refuse("no Stripe-Signature header", ip=ip, code="missing_signature")
    if not secrets:
        raise _refuse("no signing secret is configured (STRIPE_WEBHOOK_SECRET)", ip=ip)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse("the body is not UTF-8", ip=ip) from exc
    verified = False
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance=tolerance)
        except stripe.SignatureVerificationError as exc:
            if "tolerance" in str(exc):
                raise _refuse("the signature timestamp is too old", ip=ip) from exc
            continue
        verified = True
        break
    if not verified:
        raise _refuse("no v1 signature matches a configured secret", ip=ip)
    if _header_timestamp(header) > time.time() + tolerance:
        raise _refuse("the signature timestamp is in the future", ip=ip)


def _event_fields(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ApplicationError("The event body is not JSON.", code="malformed_json") from exc
    if not isinstance(event, dict):
        raise ApplicationError("The event body is not a JSON object.", code="invalid_event")
    event_id, kind, created = event.get("id"), event.get("type"), event.get("created")
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 255 and isinstance(kind, str) and 0 < len(kind) <= 100):
        raise ApplicationError("The event has no `id` or `type`.", code="invalid_event")
    if isinstance(created, bool) or not isinstance(created, int) or not 0 <= created < 2**40:
        raise ApplicationError("The event has no valid `created` time.", code="invalid_event")
    return {
        "event_id": event_id,
        "type": kind,
        "api_version": str(event.get("api_version") or "")[:32],
        "livemode": bool(event.get("livemode")),
        "created": datetime.fromtimestamp(created, tz=UTC),
    }


def stripe_event_receive(
    *, payload: bytes, signature: str | None, headers: Mapping[str, str], ip: str | None = None
) -> Receipt:
    """Verify and store one delivery; queue its processing after commit. Duplicates are not stored again."""
    stripe_signature_verify(payload=payload, header=signature, secrets=list(settings.STRIPE_WEBHOOK_SECRET), ip=ip)
    fields = _event_fields(payload)
    kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    row = {**fields, "raw_body": payload.decode("utf-8"), "headers": kept, "source_ip": ip}
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint, so a duplicate does not break the caller's transaction
                event = StripeEvent.objects.create(**row)
        else:  # the request: one autocommitted INSERT, two round trips fewer than BEGIN ... COMMIT
            event = StripeEvent.objects.create(**row)
    except IntegrityError:
        existing = StripeEvent.objects.filter(event_id=fields["event_id"]).first()
        if existing is None:
            raise
        return Receipt(existing, duplicate=True)
    job_enqueue(event)  # after the commit (at once when autocommitted); a broker outage is only logged
    return Receipt(event, duplicate=False)


# --- Processing -----------------------------------------------------------------------------------


@dataclass
class Applied:
    outcome: str
    detail: str = ""
    order: Order | None = None


def _order_for(*, payment_intent: Any, metadata: Any) -> Order | None:
    """The order an object belongs to, locked: by stored PaymentIntent id, else by `metadata.order_id`."""
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    if isinstance(payment_intent, str) and payment_intent:
        order = Order.objects.select_for_update().filter(stripe_payment_intent_id=payment_intent).first()
        if order is not None:
            return order
    order_id = as_uuid(metadata.get("order_id")) if isinstance(metadata, dict) else None
    if order_id is None:
        return None
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is not None and isinstance(payment_intent, str) and payment_intent and not order.stripe_payment_intent_id:
        order.stripe_payment_intent_id = payment_intent
    return order


def _notify(order: Order, *, kind: str, title: str, body: str, event: StripeEvent) -> None:
    notification_send(
        user_id=order.owner_id,
        kind=kind,
        title=title,
        body=body,
        data={"order_id": str(order.pk), "number": order.number, "status": order.status},
        dedupe_key=uuid.uuid5(event.pk, kind),
    )


def _move(order: Order, status: str, event: StripeEvent) -> str | None:
    """Apply `status` if the machine allows it; otherwise the reason it is ignored."""
    if order.status == status and status != OrderStatus.PARTIALLY_REFUNDED:
        return None
    if not transition_allowed(order.status, status):
        return f"illegal transition {order.status} -> {status}"
    order_status_set(order=order, status=status, cause=ChangeCause.WEBHOOK, event_id=event.event_id)
    return None


def _to(order: Order, event: StripeEvent, status: str | None, payment_status: str) -> Applied:
    """Move the order to `status` (None: keep it) and record `payment_status`, or say why it is ignored."""
    reason = _move(order, status, event) if status else None
    if reason:
        return Applied(EventOutcome.IGNORED, reason, order)
    order_payment_status_set(
        order=order, payment_status=payment_status, cause=ChangeCause.WEBHOOK, event_id=event.event_id
    )
    return Applied(EventOutcome.PROCESSED, order=order)


def _on_paid(event: StripeEvent, obj: dict[str, Any], order: Order) -> Applied:
    received = obj.get("amount_received", obj.get("amount_total", obj.get("amount")))
    currency = str(obj.get("currency") or "").lower()
    if currency != order.currency or not isinstance(received, int) or received < order.total:
        detail = f"amount {received} {currency} does not pay {order.total} {order.currency}"
        return Applied(EventOutcome.IGNORED, detail, order)
    if order.status == OrderStatus.PAID:
        return Applied(EventOutcome.PROCESSED, "already paid", order)
    applied = _to(order, event, OrderStatus.PAID, PaymentStatus.PAID)
    if applied.outcome == EventOutcome.PROCESSED:
        total = f"{amount_format(order.total, order.currency)} {order.currency.upper()}"
        _notify(order, kind="order.paid", title=f"Order {order.number} paid", body=f"We received {total}.", event=event)
    return applied


def _on_failed(event: StripeEvent, obj: dict[str, Any], order: Order) -> Applied:
    return _to(order, event, OrderStatus.PAYMENT_FAILED, PaymentStatus.FAILED)


def _on_canceled(event: StripeEvent, obj: dict[str, Any], order: Order) -> Applied:
    return _to(order, event, OrderStatus.CANCELLED, PaymentStatus.CANCELED)


def _on_refunded(event: StripeEvent, obj: dict[str, Any], order: Order) -> Applied:
    refunded = obj.get("amount_refunded")
    if isinstance(refunded, bool) or not isinstance(refunded, int) or refunded <= order.amount_refunded:
        return Applied(EventOutcome.IGNORED, "no new refund amount", order)
    full = bool(obj.get("refunded")) or refunded >= order.total
    if full:
        applied = _to(order, event, OrderStatus.REFUNDED, PaymentStatus.REFUNDED)
    else:
        applied = _to(order, event, OrderStatus.PARTIALLY_REFUNDED, PaymentStatus.PARTIALLY_REFUNDED)
    if applied.outcome == EventOutcome.PROCESSED:
        order.amount_refunded = min(refunded, order.total)
        amount = f"{amount_format(order.amount_refunded, order.currency)} {order.currency.upper()}"
        title = f"Order {order.number} {'refunded' if full else 'partly refunded'}"
        _notify(order, kind="order.refunded", title=title, body=f"{amount} refunded.", event=event)
    return applied


def _on_dispute(event: StripeEvent, obj: dict[str, Any], order: Order) -> Applied:
    return _to(order, event, None, PaymentStatus.DISPUTED)


def _on_checkout_completed(event: StripeEvent, obj: dict[str, Any], order: Order) -> Applied:
    if obj.get("payment_status") != "paid":  # async payment methods: the PaymentIntent event follows
        return Applied(EventOutcome.PROCESSED, "completed, payment pending", order)
    return _on_paid(event, obj, order)


def _on_checkout_expired(event: StripeEvent, obj: dict[str, Any], order: Order) -> Applied:
    reason = _move(order, OrderStatus.CANCELLED, event)
    return Applied(EventOutcome.IGNORED, reason, order) if reason else Applied(EventOutcome.PROCESSED, order=order)


# Where each object names its PaymentIntent and its metadata.
Ref = Callable[[dict[str, Any]], tuple[Any, Any]]


def _intent_ref(obj: dict[str, Any]) -> tuple[Any, Any]:
    return obj.get("id"), obj.get("metadata")


def _charge_ref(obj: dict[str, Any]) -> tuple[Any, Any]:
    return obj.get("payment_intent"), obj.get("metadata")


def _checkout_ref(obj: dict[str, Any]) -> tuple[Any, Any]:
    raw = obj.get("metadata")
    metadata: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    if not metadata.get("order_id") and obj.get("client_reference_id"):
        metadata["order_id"] = obj["client_reference_id"]
    return obj.get("payment_intent"), metadata


Handler = Callable[[StripeEvent, dict[str, Any], Order], Applied]
HANDLERS: dict[str, tuple[Ref, Handler]] = {
    "payment_intent.succeeded": (_intent_ref, _on_paid),
    "payment_intent.payment_failed": (_intent_ref, _on_failed),
    "payment_intent.canceled": (_intent_ref, _on_canceled),
    "charge.refunded": (_charge_ref, _on_refunded),
    "charge.dispute.created": (_charge_ref, _on_dispute),
    "checkout.session.completed": (_checkout_ref, _on_checkout_completed),
    "checkout.session.expired": (_checkout_ref, _on_checkout_expired),
}


@transaction.atomic
def stripe_event_apply(*, event: StripeEvent) -> Applied:
    """Process one stored event (called by the task); raises on a processing failure (retried).

    Finds and locks the order, ignores the event when it is older than the newest one applied to the
    order (it cannot undo it), then runs the type's handler.
    """
    entry = HANDLERS.get(event.type)
    if entry is None:
        return Applied(EventOutcome.IGNORED, f"event type {event.type} is not handled")
    payload = json.loads(event.raw_body)
    obj = ((payload.get("data") or {}).get("object")) if isinstance(payload, dict) else None
    if not isinstance(obj, dict):
        return Applied(EventOutcome.IGNORED, "the event has no data.object")
    ref, handler = entry
    payment_intent, metadata = ref(obj)
    order = _order_for(payment_intent=payment_intent, metadata=metadata)
    if order is None:
        return Applied(EventOutcome.UNMATCHED, f"no order for this {event.type.split('.')[0]}")
    if order.stripe_event_created and event.created < order.stripe_event_created:
        return Applied(EventOutcome.IGNORED, "older than an event already applied", order)
    applied = handler(event, obj, order)
    if applied.outcome == EventOutcome.PROCESSED:
        if not order.stripe_event_created or event.created > order.stripe_event_created:
            order.stripe_event_created = event.created
        order.save()
    return applied


def stripe_event_retry(*, event_pk: Any) -> StripeEvent:
    """An operator's retry: back to `queued` and queued after commit; 409 while it is being processed."""
    event = stripe_event_get(event_pk=event_pk)
    if event is None:
        raise NotFound("No such webhook event.")
    with transaction.atomic():
        if not job_requeue(event):
            raise Conflict("The event is being processed right now; retry later.", code="event_processing")
    return event
