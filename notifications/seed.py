"""Demo notifications for `manage.py seed` (idempotent): a few for demo@example.com when that user exists."""

from typing import Any

from auth_app.selectors import user_by_email

from .models import Notification
from .services import notification_mark_read, notification_send

DEMO_EMAIL = "demo@example.com"
DEMO_NOTIFICATIONS: list[dict[str, Any]] = [
    {"kind": "system.message", "title": "Welcome to the platform", "body": "Your notifications appear here."},
    {
        "kind": "order.paid",
        "title": "Order paid",
        "body": "We received your payment.",
        "data": {"order_id": None, "total": "25.00", "currency": "EUR"},
    },
    {"kind": "file.converted", "title": "Your file is ready", "body": "report.pdf was converted.", "data": {}},
    {"kind": "bin.event_received", "title": "Webhook received", "body": "POST /hooks/demo", "data": {}},
]


def seed_run(*, stdout: Any) -> None:
    user = user_by_email(email=DEMO_EMAIL)
    if user is None:
        stdout.write(f"notifications: skipped ({DEMO_EMAIL} does not exist)")
        return
    if Notification.objects.filter(recipient=user, data__seed=True).exists():
        stdout.write("notifications: demo notifications already present")
        return
    sent = [
        notification_send(
            user_id=user.pk,
            kind=spec["kind"],
            title=spec["title"],
            body=spec["body"],
            data={**spec.get("data", {}), "seed": True},
        )
        for spec in DEMO_NOTIFICATIONS
    ]
    notification_mark_read(user=user, notification_id=sent[0].pk)
    stdout.write(f"notifications: created {len(sent)} demo notifications for {DEMO_EMAIL}")
