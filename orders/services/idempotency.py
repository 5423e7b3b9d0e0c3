"""Idempotency-Key for POST requests (draft-ietf-httpapi-idempotency-key-header, Stripe's behaviour).

Scoped to the caller and the endpoint. The key's row is inserted first, in its own transaction, so
the unique constraint (owner, endpoint, key) decides between concurrent duplicates: one runs, the
others see its row. Then:

- same key, same body, first response stored  -> the stored status and body are replayed (until expiry);
- same key, different body                    -> 422 `idempotency_key_mismatch`;
- same key while the first is still running   -> 409 `idempotency_key_in_use`;
- the work fails with an error                -> the row is removed (nothing was created; retry freely).

The work and the "completed" mark commit together, so a stored response always names a created row.
A row left `in_flight` by a crashed process blocks retries for ORDERS_IDEMPOTENCY_LOCK_SECONDS only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import ApplicationError, Conflict, FieldError, ValidationFailed
from common.serialization import json_dumps

from ..models import IdempotencyKey, IdempotencyState

KEY_MAX_CHARS = 255
HEADER = "Idempotency-Key"


class IdempotencyMismatch(ApplicationError):
    status = 422
    code = "idempotency_key_mismatch"
    default_detail = "This Idempotency-Key was used with a different request body."


@dataclass(frozen=True)
class KeyedResponse:
    status: int
    body: Any
    replayed: bool


def idempotency_key_parse(raw: str | None) -> str | None:
    """The key from the header: a bare token (Stripe) or an sf-string in double quotes (the IETF draft)."""
    if raw is None:
        if settings.ORDERS_IDEMPOTENCY_KEY_REQUIRED:
            raise ValidationFailed(f"This endpoint requires an {HEADER} header.", code="idempotency_key_required")
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > KEY_MAX_CHARS or not all(" " <= ch <= "~" for ch in key):
        detail = f"{HEADER} must be 1 to {KEY_MAX_CHARS} printable ASCII characters."
        raise ValidationFailed(
            detail, code="invalid_idempotency_key", errors=[FieldError(attr=HEADER, code="invalid", detail=detail)]
        )
    return key


def request_fingerprint(body: Any) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys), so key order and whitespace do not matter."""
    return hashlib.sha256(json_dumps(body, sort_keys=True).encode()).hexdigest()


def _in_use() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry later.",
        code="idempotency_key_in_use",
        headers={"Retry-After": "1"},
    )


def _claim(*, owner: Any, endpoint: str, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """Insert the key's row (ours to run: `(row, False)`) or find the first request's (`(row, True)` to replay)."""
    lookup = {"owner": owner, "endpoint": endpoint, "key": key}
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    **lookup,
                    fingerprint=fingerprint,
                    locked_at=now,
                    expires_at=now + timedelta(seconds=settings.ORDERS_IDEMPOTENCY_TTL_SECONDS),
                )
            return row, False
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(**lookup).first()
        if existing is None:  # finished with an error and removed in between: try again
            continue
        if existing.expires_at <= now:
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise IdempotencyMismatch()
        if existing.state == IdempotencyState.COMPLETED:
            return existing, True
        stale = now - timedelta(seconds=settings.ORDERS_IDEMPOTENCY_LOCK_SECONDS)
        if existing.locked_at < stale:  # its process died; take the key over
            taken = IdempotencyKey.objects.filter(
                pk=existing.pk, state=IdempotencyState.IN_FLIGHT, locked_at=existing.locked_at
            ).update(locked_at=now)
            if taken:
                existing.locked_at = now
                return existing, False
        raise _in_use()
    raise _in_use()


def idempotent_run(
    *, owner: Any, endpoint: str, key: str | None, body: Any, run: Callable[[], tuple[int, Any]]
) -> KeyedResponse:
    """Run `run() -> (status, body)` at most once per (owner, endpoint, key); see the module docstring."""
    if key is None:
        status, response = run()
        return KeyedResponse(status, response, replayed=False)
    row, replay = _claim(owner=owner, endpoint=endpoint, key=key, fingerprint=request_fingerprint(body))
    if replay:
        return KeyedResponse(int(row.response_status or 200), row.response_body, replayed=True)
    try:
        with transaction.atomic():
            status, response = run()
            done = IdempotencyKey.objects.filter(
                pk=row.pk, state=IdempotencyState.IN_FLIGHT, locked_at=row.locked_at
            ).update(state=IdempotencyState.COMPLETED, response_status=status, response_body=response)
            if not done:  # our lock was taken over after it went stale: undo our work
                raise _in_use()
    except BaseException:
        IdempotencyKey.objects.filter(pk=row.pk, state=IdempotencyState.IN_FLIGHT, locked_at=row.locked_at).delete()
        raise
    return KeyedResponse(status, response, replayed=False)


def idempotency_keys_purge(*, now: Any = None) -> int:
    """Delete expired keys in batches of ORDERS_IDEMPOTENCY_PURGE_BATCH_SIZE; returns how many."""
    now = now or timezone.now()
    batch = int(settings.ORDERS_IDEMPOTENCY_PURGE_BATCH_SIZE)
    deleted = 0
    while True:
        pks = list(IdempotencyKey.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[:batch])
        if not pks:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=pks).delete()[0]
