"""`manage.py notification_send`: store and push one notification from this (separate) process."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import ApplicationError
from notifications.models import NotificationKind
from notifications.services import notification_send


class Command(BaseCommand):
    help = "Send one notification to a user (persisted, then pushed through the channel layer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user-id", required=True, help="Recipient user id (UUID).")
        parser.add_argument("--title", required=True)
        parser.add_argument("--body", default="")
        parser.add_argument("--kind", default=NotificationKind.SYSTEM_MESSAGE.value)
        parser.add_argument("--data", default="{}", help="A JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = json.loads(options["data"])
        except ValueError as exc:
            raise CommandError(f"--data is not JSON: {exc}") from exc
        try:
            notification = notification_send(
                user_id=options["user_id"],
                kind=options["kind"],
                title=options["title"],
                body=options["body"],
                data=data,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        self.stdout.write(json.dumps({"id": str(notification.pk), "seq": notification.seq}))
