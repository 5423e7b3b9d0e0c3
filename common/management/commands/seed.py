"""`manage.py seed`: load demo data. Each app may ship a `seed.py` with `seed_run(*, stdout)`; all are idempotent.

A seed module may also add options: `seed_add_arguments(parser)` declares them and
`seed_options_run(*, stdout, options)` acts on them after `seed_run`, in transactions of its own
(bulk data for benchmarks, e.g. `--orders 1000000`).
"""

import importlib
import importlib.util
from types import ModuleType
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

# Order matters: later apps attach their demo rows to the demo users.
SEED_ORDER = ["auth_app", "notifications", "orders", "file_processor", "webhook_tester"]


def _seed_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{label}.seed")
        for label in SEED_ORDER
        if apps.is_installed(label) and importlib.util.find_spec(f"{label}.seed") is not None
    ]


class Command(BaseCommand):
    help = "Create demo data (users, notifications, ...). Safe to run more than once."

    def add_arguments(self, parser: CommandParser) -> None:
        for module in _seed_modules():
            if hasattr(module, "seed_add_arguments"):
                module.seed_add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for module in _seed_modules():
            with transaction.atomic():
                module.seed_run(stdout=self.stdout)
            if hasattr(module, "seed_options_run"):
                module.seed_options_run(stdout=self.stdout, options=options)
        self.stdout.write(self.style.SUCCESS("seed: done"))
