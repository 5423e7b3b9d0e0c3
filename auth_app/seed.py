"""Demo accounts for `manage.py seed` (idempotent).

Created only in embedded mode (`EMBEDDED_DATABASE`) or when `SEED_DEMO_USERS=true`, because their
passwords are public.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .models import User

DEMO_USERS = [
    {"email": "demo@example.com", "password": "demo-password-123", "name": "Demo User", "is_staff": False},
    {"email": "admin@example.com", "password": "admin-password-123", "name": "Demo Admin", "is_staff": True},
]


def demo_users_enabled() -> bool:
    return bool(settings.EMBEDDED_DATABASE) or bool(settings.SEED_DEMO_USERS)


def seed_run(*, stdout: Any) -> None:
    if not demo_users_enabled():
        stdout.write("auth_app: demo users skipped (set SEED_DEMO_USERS=true to create them outside embedded mode)")
        return
    for spec in DEMO_USERS:
        user = User.objects.filter(email=spec["email"]).first()
        if user is None:
            User.objects.create_user(
                email=str(spec["email"]),
                password=str(spec["password"]),
                name=str(spec["name"]),
                is_staff=bool(spec["is_staff"]),
                is_superuser=bool(spec["is_staff"]),
            )
            stdout.write(f"auth_app: created {spec['email']}")
    stdout.write(
        "auth_app: WARNING demo credentials, never use them in production: "
        "demo@example.com / demo-password-123 and admin@example.com / admin-password-123 (staff)"
    )
