"""Replays: a row first (ReplayAttempt), sent by Celery through the SSRF-guarded common.outbound."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from common.channels import group_send_after_commit
from common.errors import FieldError, ValidationFailed
from common.jobs import job_claim, job_enqueue, job_fail, job_succeed, retry_delay

from ..live import bin_group, replay_message
from ..models import Bin, CapturedEvent, ReplayAttempt

# Hop-by-hop headers (RFC 9110 7.6.1) and the ones the client sets itself from the target and body.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def replay_headers(headers: list[list[str]]) -> list[tuple[str, str]]:
    """The captured headers minus hop-by-hop ones (and those the `Connection` header names)."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP and name.lower() not in named]


def replay_target(url: str, query_string: str) -> str:
    """The target URL; the captured query string is appended when the target has none of its own."""
    if query_string and not urlsplit(url).query:
        return f"{url}?{query_string}"
    return url


def replay_create(*, bin: Bin, event: CapturedEvent, target_url: str | None = None) -> ReplayAttempt:
    """Queue a replay of `event` to `target_url` (default: the bin's replay URL); checked by the SSRF guard now
    and again when sent."""
    from common.outbound import OutboundBlocked, outbound_url_check

    url = (target_url or bin.replay_url or "").strip()
    if not url:
        detail = "Give a target `url`, or set the bin's `replay_url`."
        raise ValidationFailed(
            detail, code="replay_url_missing", errors=[FieldError(attr="url", code="required", detail=detail)]
        )
    try:
        outbound_url_check(url)
    except OutboundBlocked as exc:  # a 422 problem naming the field, as common.outbound intends
        exc.errors = [exc.as_field_error("url")]
        raise
    with transaction.atomic():
        replay = ReplayAttempt.objects.create(event=event, target_url=url)
        job_enqueue(replay)
    return replay


def replay_send(*, replay_id: Any) -> ReplayAttempt | None:
    """Send a queued replay and record the answer; network failures are retried BINS_REPLAY_MAX_ATTEMPTS times."""
    from common.outbound import OutboundBlocked, OutboundError, outbound_request

    job = job_claim(ReplayAttempt, replay_id)
    if job is None:
        return None
    event = job.event
    try:
        response = outbound_request(
            method=event.method,
            url=replay_target(job.target_url, event.query_string),
            headers=replay_headers(event.headers),
            body=bytes(event.body),
            timeout=float(settings.BINS_REPLAY_TIMEOUT_SECONDS),
            max_body=int(settings.BINS_REPLAY_BODY_EXCERPT_BYTES),
        )
    except OutboundBlocked as exc:
        job_fail(job, code=exc.code, message=exc.detail)
    except OutboundError as exc:
        if job.attempts < int(settings.BINS_REPLAY_MAX_ATTEMPTS):
            delay = retry_delay(job.attempts, base=2.0, maximum=60.0)
            if job_fail(job, code=getattr(exc, "code", "replay_failed"), message=str(exc), retry_in=delay):
                job_enqueue(job, countdown=delay)
        else:
            job_fail(job, code=getattr(exc, "code", "replay_failed"), message=str(exc))
    else:
        job_succeed(
            job,
            response_status=response.status,
            response_headers=[[name, value] for name, value in response.headers],
            response_body_excerpt=response.body,
            response_truncated=response.truncated,
            elapsed_ms=response.elapsed_ms,
        )
    job.refresh_from_db()
    group_send_after_commit([(bin_group(event.bin_id), replay_message(job, event.bin_id))])
    return job
