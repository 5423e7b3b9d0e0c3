"""`manage.py orders_replay_webhooks --failed | --ids ID[,ID...]`: process stored Stripe events again."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from common.errors import ApplicationError
from orders import selectors, services
from orders.selectors import as_uuid


class Command(BaseCommand):
    help = "Queue stored Stripe events for processing again (failed ones, or by id / event id)."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--failed", action="store_true", help="Every event whose processing failed for good.")
        group.add_argument("--ids", help="Comma-separated event ids (evt_...) or stored row ids (UUID).")
        parser.add_argument("--type", default="", help="Only events of this type.")

    def handle(self, *args: Any, **options: Any) -> None:
        events = selectors.stripe_event_list()
        if options["failed"]:
            events = events.filter(status="failed")
        else:
            ids = [part.strip() for part in options["ids"].split(",") if part.strip()]
            if not ids:
                raise CommandError("--ids needs at least one id")
            uuids = [u for u in (as_uuid(i) for i in ids) if u]
            events = events.filter(Q(event_id__in=ids) | Q(pk__in=uuids))
        if options["type"]:
            events = events.filter(type=options["type"])
        queued = 0
        for pk in events.order_by("received_at").values_list("pk", flat=True):
            try:
                services.stripe_event_retry(event_pk=pk)
                queued += 1
            except ApplicationError as exc:
                self.stderr.write(f"{pk}: {exc.detail}")
        self.stdout.write(self.style.SUCCESS(f"orders_replay_webhooks: queued {queued} event(s)"))
