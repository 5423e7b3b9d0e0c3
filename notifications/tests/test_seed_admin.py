"""Seed (idempotent) and the admin list."""

import io

import pytest
from django.contrib.auth import get_user_model

from notifications.models import Notification
from notifications.seed import seed_run

pytestmark = pytest.mark.django_db


def test_seed_skips_without_demo_user():
    out = io.StringIO()
    seed_run(stdout=out)
    assert "skipped" in out.getvalue()
    assert not Notification.objects.exists()


def test_seed_is_idempotent():
    demo = get_user_model().objects.create_user(email="demo@example.com", password="demo-password-123")
    seed_run(stdout=io.StringIO())
    seed_run(stdout=io.StringIO())
    rows = Notification.objects.filter(recipient=demo)
    assert rows.count() == 4
    assert rows.filter(read_at__isnull=True).count() == 3


def test_admin_list_with_filters(client, user, staff_user):
    from notifications import services

    services.notification_send(user_id=user.pk, kind="order.paid", title="paid")
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    for query in ("", "?read=no", "?kind=order.paid", "?q=paid"):
        response = client.get(f"/admin/notifications/notification/{query}")
        assert response.status_code == 200, query
        assert b"paid" in response.content
