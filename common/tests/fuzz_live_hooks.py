"""schemathesis hooks for the runs against a live server (docs/attack.md):

    SCHEMATHESIS_HOOKS=common.tests.fuzz_live_hooks PYTHONPATH=. .venv/bin/schemathesis run ...

A Bearer token from a real login (ATTACK_BASE, ATTACK_EMAIL, ATTACK_PASSWORD; the seeded demo user by
default), fetched again after a 401: the run's own logout and logout-all calls revoke it. The run's
date-time values come from fuzz_formats.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis

from . import fuzz_formats  # noqa: F401  (registers the format strategies)

BASE = os.environ.get("ATTACK_BASE", "http://127.0.0.1:19200")


@schemathesis.auth(refresh_interval=120)
class Login:
    def get(self, case: Any, context: Any) -> str:
        response = requests.post(
            f"{BASE}/api/v1/auth/login",
            json={
                "email": os.environ.get("ATTACK_EMAIL", "demo@example.com"),
                "password": os.environ.get("ATTACK_PASSWORD", "demo-password-123"),
            },
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access"])

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
