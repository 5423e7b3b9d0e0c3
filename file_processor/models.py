"""Stored files, conversion jobs, completion-webhook attempts and direct-upload nonces.

File bytes live in Django's `default` storage (local MEDIA_ROOT, or S3) under a key the server makes;
these rows hold what is known about them. A conversion is a row first (`ConversionJob`, a
`common.jobs.QueuedJob`): the task claims it atomically, so a redelivered message does nothing twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from common.jobs import QueuedJob
from common.serialization import JSONEncoder


class FileOrigin(models.TextChoices):
    UPLOAD = "upload", "uploaded"
    DIRECT = "direct", "direct upload"
    CONVERSION = "conversion", "conversion output"


class StoredFile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stored_files")
    # `files/<yyyy>/<mm>/<uuid>`: chosen by the server, never derived from the client's filename.
    storage_key = models.CharField(max_length=255, unique=True, editable=False)
    original_name = models.CharField(max_length=255, help_text="The client's filename, sanitised (display only).")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    mime_type = models.CharField(max_length=127, help_text="Detected from the content.")
    declared_mime_type = models.CharField(max_length=127, blank=True, default="")
    origin = models.CharField(max_length=16, choices=FileOrigin.choices, default=FileOrigin.UPLOAD)
    metadata = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["owner", "created_at", "id"], name="storedfile_owner_created_idx"),
            models.Index(fields=["expires_at"], name="storedfile_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.mime_type}, {self.size} B)"


class ConversionJob(QueuedJob):
    job_task = "file_processor.tasks.conversion_run_task"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversion_jobs")
    source = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="conversion_jobs")
    target_format = models.CharField(max_length=16)
    options = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    progress = models.PositiveSmallIntegerField(default=0)
    output = models.ForeignKey(StoredFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    callback_url = models.URLField(max_length=2048, blank=True, default="")
    # The `webhook-id` of the signed inbound request that started it: a repeated delivery finds this job.
    trigger_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "trigger_id"], condition=~models.Q(trigger_id=""), name="conversionjob_trigger_unique"
            )
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="conversionjob_status_due_idx"),
            models.Index(fields=["source", "created_at"], name="conversionjob_source_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -> {self.target_format} ({self.status})"


class WebhookDelivery(QueuedJob):
    """One completion event for one job's `callback_url`; its `id` is the stable `webhook-id`."""

    job_task = "file_processor.tasks.webhook_deliver_task"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.OneToOneField(ConversionJob, on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField(max_length=2048)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "due_at"], name="webhookdelivery_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.url} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP try of a delivery: what was sent, what came back (or why nothing did)."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts_made")
    number = models.PositiveIntegerField()
    requested_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhookattempt_number_unique")]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error_code}"


class DirectUploadToken(models.Model):
    """The nonce behind one signed direct-upload URL: its declared object, expiry, and whether it was used."""

    nonce = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.BigIntegerField()
    storage_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    file = models.ForeignKey(StoredFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"{self.nonce} ({'used' if self.used_at else 'open'})"
