"""Writes of the Orders API. Other apps call these (and orders.selectors), never the models."""

from .idempotency import (
    IdempotencyMismatch,
    KeyedResponse,
    idempotency_key_parse,
    idempotency_keys_purge,
    idempotent_run,
    request_fingerprint,
)
from .orders import order_cancel, order_create, order_totals, order_update
from .state import TRANSITIONS, order_payment_status_set, order_status_set, transition_allowed
from .webhooks import (
    HANDLERS,
    Receipt,
    SignatureInvalid,
    stripe_event_apply,
    stripe_event_receive,
    stripe_event_retry,
    stripe_signature_verify,
)

__all__ = [
    "HANDLERS",
    "TRANSITIONS",
    "IdempotencyMismatch",
    "KeyedResponse",
    "Receipt",
    "SignatureInvalid",
    "idempotency_key_parse",
    "idempotency_keys_purge",
    "idempotent_run",
    "order_cancel",
    "order_create",
    "order_payment_status_set",
    "order_status_set",
    "order_totals",
    "order_update",
    "request_fingerprint",
    "stripe_event_apply",
    "stripe_event_receive",
    "stripe_event_retry",
    "stripe_signature_verify",
    "transition_allowed",
]
