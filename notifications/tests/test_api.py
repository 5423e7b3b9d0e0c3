"""REST: list, create, read, read-all, unread count, ownership."""

import uuid

import pytest
from django.contrib.auth import get_user_model

from notifications import services
from notifications.models import Notification

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications"


def _send(user, n=1, **extra):
    return [
        services.notification_send(user_id=user.pk, kind="system.message", title=f"t{i}", **extra) for i in range(n)
    ]


def test_create_for_self_defaults_user_and_kind(auth_client, user):
    response = auth_client.post(URL, {"title": "Hello", "data": {"a": [1, 2]}}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user_id"] == str(user.pk)
    assert body["kind"] == "system.message"
    assert body["seq"] == 1
    assert body["read"] is False and body["read_at"] is None
    assert body["data"] == {"a": [1, 2]}
    assert Notification.objects.filter(recipient=user).count() == 1


def test_non_staff_cannot_target_another_user(auth_client, other_user):
    response = auth_client.post(URL, {"title": "x", "user_id": str(other_user.pk)}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "recipient_forbidden"
    assert not Notification.objects.exists()


def test_non_staff_cannot_broadcast(auth_client):
    response = auth_client.post(URL, {"title": "x", "broadcast": True}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "broadcast_forbidden"


def test_staff_targets_another_user(api_client, staff_user, other_user, make_access_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(staff_user)}")
    response = api_client.post(URL, {"title": "x", "user_id": str(other_user.pk), "kind": "order.paid"}, format="json")
    assert response.status_code == 201
    assert response.json()["user_id"] == str(other_user.pk)


def test_staff_unknown_user_is_validation_error(api_client, staff_user, make_access_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(staff_user)}")
    response = api_client.post(URL, {"title": "x", "user_id": str(uuid.uuid4())}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "user_id"


def test_staff_broadcast_reaches_every_active_user(
    api_client, staff_user, user, other_user, settings, django_capture_on_commit_callbacks, make_access_token
):
    settings.NOTIFICATIONS_BROADCAST_BATCH_SIZE = 2
    get_user_model().objects.create_user(email="gone@example.com", password="x" * 12, is_active=False)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(staff_user)}")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(URL, {"title": "Maintenance", "broadcast": True}, format="json")
    assert response.status_code == 202
    assert response.json() == {"broadcast": True, "status": "queued"}
    recipients = set(Notification.objects.values_list("recipient_id", flat=True))
    assert recipients == {staff_user.pk, user.pk, other_user.pk}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"title": ""},
        {"title": "x", "kind": "not-a-kind"},
        {"title": "x", "data": [1]},
        {"title": "x", "data": "s"},
        {"title": "x" * 201},
        {"title": "x", "broadcast": True, "user_id": str(uuid.uuid4())},
        {"title": "nul\x00"},
        {"title": "x", "data": {"k": "nul\x00"}},
    ],
)
def test_create_rejects_bad_input_with_problem(auth_client, payload):
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400, response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"


def test_list_is_newest_first_and_filters(auth_client, user, other_user):
    mine = _send(user, 3)
    services.notification_send(user_id=user.pk, kind="order.paid", title="paid")
    _send(other_user, 2)
    services.notification_mark_read(user=user, notification_id=mine[0].pk)

    body = auth_client.get(URL).json()
    assert [item["seq"] for item in body["items"]] == [4, 3, 2, 1]
    assert body["has_more"] is False and body["next_cursor"] is None

    unread = auth_client.get(URL, {"unread": "true"}).json()["items"]
    assert [item["seq"] for item in unread] == [4, 3, 2]
    read = auth_client.get(URL, {"unread": "false"}).json()["items"]
    assert [item["seq"] for item in read] == [1]
    paid = auth_client.get(URL, {"kind": "order.paid"}).json()["items"]
    assert [item["kind"] for item in paid] == ["order.paid"]


def test_list_rejects_bad_filter_and_cursor(auth_client):
    assert auth_client.get(URL, {"unread": "maybe"}).status_code == 400
    assert auth_client.get(URL, {"cursor": "garbage"}).json()["code"] == "invalid_cursor"


def test_list_cursor_pages(auth_client, user):
    _send(user, 5)
    first = auth_client.get(URL, {"limit": 2}).json()
    second = auth_client.get(URL, {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = auth_client.get(URL, {"limit": 2, "cursor": second["next_cursor"]}).json()
    seqs = [i["seq"] for page in (first, second, third) for i in page["items"]]
    assert seqs == [5, 4, 3, 2, 1]
    assert third["has_more"] is False


def test_mark_read_is_idempotent_and_owner_only(auth_client, user, other_user):
    (mine,) = _send(user)
    (theirs,) = _send(other_user)
    first = auth_client.post(f"{URL}/{mine.pk}/read")
    assert first.status_code == 200 and first.json()["read"] is True
    again = auth_client.post(f"{URL}/{mine.pk}/read")
    assert again.json()["read_at"] == first.json()["read_at"]

    response = auth_client.post(f"{URL}/{theirs.pk}/read")
    assert response.status_code == 404
    assert response.json()["code"] == "notification_not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert auth_client.post(f"{URL}/{uuid.uuid4()}/read").status_code == 404


def test_read_all_and_unread_count(auth_client, user, other_user):
    _send(user, 3)
    _send(other_user, 2)
    assert auth_client.get(f"{URL}/unread-count").json() == {"unread_count": 3}
    assert auth_client.post(f"{URL}/read-all").json() == {"marked_read": 3}
    assert auth_client.post(f"{URL}/read-all").json() == {"marked_read": 0}
    assert auth_client.get(f"{URL}/unread-count").json() == {"unread_count": 0}
    assert Notification.objects.filter(recipient=other_user, read_at__isnull=True).count() == 2


def test_other_users_notifications_are_invisible(auth_client, other_user):
    _send(other_user, 2)
    assert auth_client.get(URL).json()["items"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("post", URL),
        ("post", f"{URL}/read-all"),
        ("get", f"{URL}/unread-count"),
        ("get", f"{URL}/events"),
    ],
)
def test_anonymous_is_401_problem(api_client, method, path):
    response = getattr(api_client, method)(path)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "x", "data": {"a": "\\ud800"}}',
        b'{"title": "x", "data": {"\\udfff": 1}}',
        b'{"title": "lone \\ud800"}',
        b'{"title": "x", "body": "\\udc00 tail"}',
        # The choice error echoes the value ('"\ud800" is not a valid choice.'): it was a 500 in the renderer.
        b'{"title": "x", "kind": "\\ud800"}',
    ],
    ids=["data-value", "data-key", "title", "body", "kind"],
)
def test_lone_surrogate_is_400_not_500(auth_client, body):
    response = auth_client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert not Notification.objects.exists()


def test_deeply_nested_body_is_400_malformed_json(auth_client):
    response = auth_client.post(URL, data=b"[" * 10_000 + b"]" * 10_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_broadcast_with_bad_content_is_400_before_anything_is_queued(
    api_client, staff_user, user, make_access_token, django_capture_on_commit_callbacks
):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(staff_user)}")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api_client.post(
            URL, {"title": "x", "broadcast": True, "data": {"blob": "y" * 20_000}}, format="json"
        )
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert queued == []  # no task was queued
    assert not Notification.objects.exists()
