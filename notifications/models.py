"""A notification is a row first and a push second: the database is the history clients resume from."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from common.jobs import QueuedJob
from common.serialization import JSONEncoder


class NotificationKind(models.TextChoices):
    """The kinds the platform emits. The service accepts any dotted lowercase kind; these are documented.

    Other apps add their kind here when they start emitting it (no migration: the field has no choices).
    """

    SYSTEM_MESSAGE = "system.message", "System message"
    ORDER_PAID = "order.paid", "Order paid"
    ORDER_REFUNDED = "order.refunded", "Order refunded"
    FILE_CONVERTED = "file.converted", "File converted"
    FILE_CONVERSION_FAILED = "file.conversion_failed", "File conversion failed"
    BIN_EVENT_RECEIVED = "bin.event_received", "Webhook bin received an event"


class Notification(models.Model):
    """One message to one user. `seq` numbers a user's notifications 1, 2, 3, ... with no gaps."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    seq = models.BigIntegerField(help_text="Per-recipient sequence number; the resume position (SSE `id:`).")
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dedupe_key = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="Set by broadcasts and queued sends: a re-run of the same task writes no second row.",
    )

    class Meta:
        constraints = [
            # Also the index behind the newest-first list: (recipient, seq) scanned backwards.
            models.UniqueConstraint(fields=["recipient", "seq"], name="notification_recipient_seq_unique"),
            # Partial: only keyed rows are constrained (and indexed).
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=Q(dedupe_key__isnull=False),
                name="notification_recipient_dedupe_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "seq"], condition=Q(read_at__isnull=True), name="notification_unread_idx"
            ),
            models.Index(fields=["recipient", "kind", "seq"], name="notification_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq} to {self.recipient_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationCounter(models.Model):
    """The last `seq` handed out per user. Its row lock serialises allocation, so seqs commit in order."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.last_seq}"


class Broadcast(QueuedJob):
    """A staff broadcast: the row is written with the request and the task takes its id, so a broker
    that is down at commit loses nothing (common.jobs' sweeper queues it again). Its id is the dedupe
    key of every notification it writes, so a re-run resumes and sends nobody the message twice."""

    job_task = "notifications.tasks.notification_broadcast_job_task"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_count = models.PositiveIntegerField(default=0, help_text="Notifications written, over every run.")

    class Meta:
        indexes = [models.Index(fields=["status", "due_at"], name="notification_broadcast_due_idx")]

    def __str__(self) -> str:
        return f"broadcast {self.pk} ({self.status})"
