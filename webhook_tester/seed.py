"""A demo bin for `manage.py seed` (idempotent): JSON, form, multipart and binary events for demo@example.com."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.utils import timezone

from auth_app.selectors import user_by_email

from .models import Bin
from .services import bin_create, bin_event_capture

DEMO_EMAIL = "demo@example.com"
# A fixed id, so the demo bin's URLs in the README work after `make run`.
DEMO_BIN_ID = uuid.UUID("00000000-0000-4000-8000-00000000b1b5")
BOUNDARY = "----demo-boundary-7MA4YWxkTrZu0gW"


def _events() -> list[dict[str, Any]]:
    json_body = json.dumps(
        {"id": "evt_demo_1", "type": "payment_intent.succeeded", "data": {"object": {"amount": 2000}}}, indent=2
    ).encode()
    multipart = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nQuarterly report\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="report.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\nquarter,revenue\r\nQ1,1200\r\n--{BOUNDARY}--\r\n"
    ).encode()
    return [
        {
            "method": "POST",
            "sub_path": "/stripe",
            "query_string": "",
            "headers": [
                ["Content-Type", "application/json; charset=utf-8"],
                [
                    "Stripe-Signature",
                    "t=1721948530,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
                ],
                ["User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"],
            ],
            "body": json_body,
        },
        {
            "method": "POST",
            "sub_path": "/form",
            "query_string": "source=contact",
            "headers": [["Content-Type", "application/x-www-form-urlencoded"], ["User-Agent", "curl/8.5.0"]],
            "body": b"name=Ada+Lovelace&email=ada%40example.com&topic=engines",
        },
        {
            "method": "PUT",
            "sub_path": "/upload",
            "query_string": "",
            "headers": [["Content-Type", f"multipart/form-data; boundary={BOUNDARY}"]],
            "body": multipart,
        },
        {
            "method": "POST",
            "sub_path": "/binary",
            "query_string": "format=png",
            "headers": [["Content-Type", "image/png"]],
            "body": bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00\x01\xff\xfe",
        },
        {
            "method": "GET",
            "sub_path": "/health",
            "query_string": "probe=1&region=eu",
            "headers": [["Accept", "*/*"], ["User-Agent", "uptime-checker/2.1"]],
            "body": b"",
        },
    ]


def seed_run(*, stdout: Any) -> None:
    user = user_by_email(email=DEMO_EMAIL)
    if user is None:
        stdout.write(f"webhook_tester: skipped ({DEMO_EMAIL} does not exist)")
        return
    if Bin.objects.filter(pk=DEMO_BIN_ID).exists():
        stdout.write("webhook_tester: demo bin already present")
        return
    bin, _key = bin_create(owner=user, name="Demo bin")
    Bin.objects.filter(pk=bin.pk).update(id=DEMO_BIN_ID)
    for spec in _events():
        bin_event_capture(
            bin_id=DEMO_BIN_ID,
            method=spec["method"],
            path=f"/hooks/{DEMO_BIN_ID}{spec['sub_path']}",
            sub_path=spec["sub_path"],
            query_string=spec["query_string"],
            headers=spec["headers"],
            body=spec["body"],
            remote_ip="203.0.113.10",
            is_tls=True,
            received_at=timezone.now(),
        )
    stdout.write(f"webhook_tester: created the demo bin /bins/{DEMO_BIN_ID} with {len(_events())} events")
