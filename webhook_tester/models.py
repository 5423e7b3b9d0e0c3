"""Bins, the requests they captured, and replays of those requests.

A bin's capture URL is `/hooks/{bin.id}[/any/sub/path]`; its id is a random UUID (unguessable), and
everything else about it (custom response, expiry, cap) is read by the capture path, which caches it
for BINS_CACHE_SECONDS.
"""

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models

from common.jobs import QueuedJob


class Bin(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bins")
    name = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(help_text="After this the capture URL answers 410 and the bin is purged.")
    event_cap = models.PositiveIntegerField(help_text="Events kept; the oldest are deleted beyond it.")
    # Custom response; `response_status` null means "answer with the JSON receipt".
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=list, blank=True, help_text="[[name, value], ...] (allow-listed).")
    response_body = models.TextField(blank=True, default="")
    response_content_type = models.CharField(max_length=200, blank=True, default="")
    response_delay_ms = models.PositiveIntegerField(default=0)
    # Optional read access for people other than the owner: the SHA-256 of a generated key.
    read_key_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    replay_url = models.URLField(max_length=2000, blank=True, default="", help_text="Default replay target.")
    notify = models.BooleanField(default=False, help_text="Notify the owner when events arrive (throttled).")

    class Meta:
        indexes = [
            models.Index(fields=["owner", "created_at"], name="bin_owner_created_idx"),
            models.Index(fields=["expires_at"], name="bin_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name or 'bin'} {self.id}"


class CapturedEvent(models.Model):
    """One request exactly as received: the body as bytes, headers as ordered [name, value] pairs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: bin_event_received_idx starts with bin_id (one index less to write per capture).
    bin = models.ForeignKey(Bin, on_delete=models.CASCADE, related_name="events", db_index=False)
    method = models.CharField(max_length=32)
    path = models.TextField(help_text="The request path as sent (percent-encoding kept).")
    sub_path = models.TextField(blank=True, default="", help_text="The part of `path` after /hooks/{bin_id}.")
    query_string = models.TextField(blank=True, default="", help_text="Raw, without the `?`.")
    headers = models.JSONField(default=list, help_text="[[name, value], ...] in the order received.")
    body = models.BinaryField(default=b"")
    content_type = models.CharField(max_length=255, blank=True, default="")
    content_length = models.BigIntegerField(default=0, help_text="Bytes of body received.")
    remote_ip = models.CharField(max_length=64, blank=True, default="")
    is_tls = models.BooleanField(default=False)
    received_at = models.DateTimeField(help_text="Microsecond precision, UTC.")
    form = models.JSONField(
        null=True, blank=True, help_text="Parsed view of a form or multipart body: {fields, files} (raw bytes kept)."
    )

    class Meta:
        indexes = [
            # The newest-first list and the cap trim: (bin, received_at) scanned backwards.
            models.Index(fields=["bin", "received_at", "id"], name="bin_event_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class ReplayAttempt(QueuedJob):
    """A replay of one event to a target URL: queued, sent by Celery, and its answer recorded."""

    job_task: ClassVar[str] = "webhook_tester.tasks.replay_send_task"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(CapturedEvent, on_delete=models.CASCADE, related_name="replays")
    target_url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=list, blank=True)
    response_body_excerpt = models.BinaryField(default=b"", blank=True)
    response_truncated = models.BooleanField(default=False)
    elapsed_ms = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "due_at"], name="bin_replay_status_due_idx")]

    def __str__(self) -> str:
        return f"replay {self.id} -> {self.target_url}"
