"""`manage.py seed`: load demo data. Each app may ship a `seed.py` with `seed_run(*, stdout)`; all are idempotent."""

import importlib
import importlib.util
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

# Order matters: later apps attach their demo rows to the demo users.
SEED_ORDER = ["auth_app", "notifications", "orders", "file_processor", "webhook_tester"]


class Command(BaseCommand):
    help = "Create demo data (users, notifications, ...). Safe to run more than once."

    def handle(self, *args: Any, **options: Any) -> None:
        for label in SEED_ORDER:
            if not apps.is_installed(label) or importlib.util.find_spec(f"{label}.seed") is None:
                continue
            module = importlib.import_module(f"{label}.seed")
            with transaction.atomic():
                module.seed_run(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("seed: done"))
