"""`manage.py seed` makes one demo bin (idempotently); the admin shows captured content escaped."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from webhook_tester.models import Bin, CapturedEvent
from webhook_tester.seed import DEMO_BIN_ID

from .conftest import capture, hook

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_is_idempotent_and_varied(settings):
    settings.SEED_DEMO_USERS = True
    call_command("seed", stdout=io.StringIO())
    call_command("seed", stdout=io.StringIO())
    assert Bin.objects.filter(pk=DEMO_BIN_ID).count() == 1
    events = CapturedEvent.objects.filter(bin_id=DEMO_BIN_ID)
    kinds = {event.form["kind"] for event in events if event.form}
    assert kinds == {"urlencoded", "multipart"}
    assert any(b"\x00" in bytes(event.body) for event in events)
    assert any(event.content_type.startswith("application/json") for event in events)


def test_admin_raw_view_escapes_captured_content(bin, staff_user, password):
    staff_user.is_superuser = True
    staff_user.save()
    capture("POST", hook(bin), headers=[(b"x-evil", b"<script>alert(1)</script>")], chunks=[b"<img src=x onerror=1>"])
    event = CapturedEvent.objects.get()
    client = Client()
    client.force_login(staff_user)
    page = client.get(f"/admin/webhook_tester/capturedevent/{event.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;img src=x onerror=1&gt;" in html and "<img src=x onerror=1>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    listing = client.get("/admin/webhook_tester/capturedevent/", {"q": str(bin.pk)})
    assert listing.status_code == 200 and str(event.pk) in listing.content.decode()
    assert client.get("/admin/webhook_tester/bin/", {"q": "test bin"}).status_code == 200
    assert client.post(f"/admin/webhook_tester/capturedevent/{event.pk}/change/", {}).status_code == 403
