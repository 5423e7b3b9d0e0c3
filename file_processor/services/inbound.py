"""The signed inbound trigger: an automation starts a conversion of a stored file.

The request is signed with the user's Standard Webhooks secret (the one that signs their completion
webhooks) and carries a `webhook-id`; a repeated id returns the first job.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from standardwebhooks import Webhook, WebhookVerificationError

from common.errors import FieldError, Unauthenticated, ValidationFailed

from ..models import ConversionJob
from .conversions import conversion_start
from .webhooks import webhook_secret_for


def inbound_verify(*, user_id: Any, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Check a signed inbound request (Standard Webhooks, the user's secret); returns the parsed JSON body."""
    try:
        Webhook(webhook_secret_for(user_id=user_id)).verify(body, headers)
    except WebhookVerificationError as exc:
        raise Unauthenticated(f"The webhook signature does not verify: {exc}", code="invalid_signature") from exc
    parsed: Any = json.loads(body)  # verify() parsed it already, so it is JSON
    if not isinstance(parsed, dict):
        raise Unauthenticated("The signed body must be a JSON object.", code="invalid_signature")
    return parsed


def inbound_convert(*, user: Any, body: bytes, headers: dict[str, str]) -> tuple[ConversionJob, bool]:
    """Start a conversion from a signed inbound request; a repeated `webhook-id` returns the first job.

    Returns (job, created).
    """
    data = inbound_verify(user_id=user.pk, body=body, headers=headers)
    problems = [
        FieldError(
            attr=name, code="invalid", detail=f"{name} must be {kind.__name__ if kind is not dict else 'an object'}."
        )
        for name, kind in (("file_id", str), ("target_format", str), ("options", dict), ("callback_url", str))
        if data.get(name) is not None and not isinstance(data[name], kind)
    ]
    if problems:
        raise ValidationFailed("The signed request body is invalid.", errors=problems)
    trigger_id = headers.get("webhook-id", "")[:255]
    existing = ConversionJob.objects.filter(owner=user, trigger_id=trigger_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            job = conversion_start(
                user=user,
                file_id=data.get("file_id"),
                target_format=data.get("target_format") or "",
                options=data.get("options"),
                callback_url=data.get("callback_url") or "",
            )
            ConversionJob.objects.filter(pk=job.pk).update(trigger_id=trigger_id)
            job.trigger_id = trigger_id
    except IntegrityError:  # the same delivery raced itself
        return ConversionJob.objects.get(owner=user, trigger_id=trigger_id), False
    return job, True
