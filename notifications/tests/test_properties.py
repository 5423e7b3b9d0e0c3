"""The seed plan's numbered properties owned by notifications (19-23)."""

import json
import string

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.serializers import ModelSerializer

from notifications import selectors, services
from notifications.models import Notification
from notifications.serializers import NotificationSerializer

from .conftest import asend, receive_type, ws_client, ws_ready

db_property = hsettings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
URL = "/api/v1/notifications"
B64URL = string.ascii_letters + string.digits + "-_"

# JSON values as clients send them. Floats stay below 1e15: PostgreSQL jsonb writes numbers in plain
# notation, so 1e300 would come back as an integer literal (equal as JSON, not as a Python float).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(min_value=-1e15, max_value=1e15, allow_nan=False)
    | st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6), json_values, max_size=4
)
safe_text = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=60)
titles = safe_text.filter(lambda t: t.strip() != "")
# Leading and trailing whitespace in every draw, so a body that gets trimmed fails on every run.
whitespace = st.text(alphabet=" \n\t\u00a0\u2003", min_size=1, max_size=3)
padded_text = st.builds(lambda lead, core, trail: lead + core + trail, whitespace, safe_text, whitespace)


def _tampered(token: str, position: int, replacement: str) -> str:
    """The token with one base64url character changed, never the last one of a segment (those carry padding bits)."""
    eligible = [i for i, ch in enumerate(token) if ch != "." and i + 1 < len(token) and token[i + 1] != "."]
    index = eligible[position % len(eligible)]
    new = replacement if replacement != token[index] else ("A" if token[index] != "A" else "B")
    return token[:index] + new + token[index + 1 :]


# --- Property 19 ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@hsettings(db_property, max_examples=12)
@given(
    garbage=st.one_of(st.none(), st.text(min_size=1, max_size=80)),
    position=st.integers(min_value=0, max_value=10_000),
    replacement=st.sampled_from(B64URL),
    first_message=st.booleans(),
)
async def test_property_19_websocket_authentication(user, access_token, garbage, position, replacement, first_message):
    """Only a valid access token opens the stream; anything else is closed with 4401 before any data."""
    bad_token = garbage if garbage is not None else _tampered(access_token, position, replacement)
    if first_message:
        communicator = ws_client(None)
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"type": "auth", "token": bad_token})
    else:
        communicator = ws_client(bad_token)
        connected, _ = await communicator.connect()
    # The socket is always accepted first (the bearer subprotocol must be echoed), so the close code is
    # always checked: no example can pass without reaching the assertion.
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()

    good, ready = await ws_ready(access_token)
    assert ready["type"] == "ready"
    await good.disconnect()


# --- Property 20 ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@hsettings(db_property, max_examples=8)
@given(recipients=st.lists(st.sampled_from(["user", "other"]), min_size=1, max_size=6))
async def test_property_20_websocket_message_delivery(user, other_user, tokens, recipients):
    """Each socket receives exactly its own user's notifications, in order, and nothing else."""
    people = {"user": user, "other": other_user}
    sockets = {name: (await ws_ready(tokens[name]))[0] for name in people}
    sent: dict[str, list[str]] = {"user": [], "other": []}
    for index, name in enumerate(recipients):
        notification = await asend(user_id=people[name].pk, kind="system.message", title=f"{name} {index}")
        sent[name].append(str(notification.pk))
    for name, communicator in sockets.items():
        received = [(await receive_type(communicator, "notification"))["notification"] for _ in sent[name]]
        assert [item["id"] for item in received] == sent[name]
        assert {item["user_id"] for item in received} <= {str(people[name].pk)}
        assert await communicator.receive_nothing(timeout=0.05)
        await communicator.disconnect()


# --- Property 21 ----------------------------------------------------------------------------------


@pytest.mark.django_db
@hsettings(db_property, max_examples=25)
@given(
    count=st.integers(min_value=0, max_value=18),
    limit=st.integers(min_value=1, max_value=7),
    read_mask=st.lists(st.booleans(), min_size=18, max_size=18),
    unread=st.sampled_from([None, "true", "false"]),
    arrivals=st.integers(min_value=0, max_value=3),
)
def test_property_21_notification_history_pagination(auth_client, user, count, limit, read_mask, unread, arrivals):
    """Walking the cursor gives every matching notification once, newest first, even if new ones arrive.

    `unread` absent keeps all, `true` only the unread ones, `false` only the read ones."""
    Notification.objects.filter(recipient=user).delete()
    created = [services.notification_send(user_id=user.pk, kind="system.message", title=f"n{i}") for i in range(count)]
    for notification, read in zip(created, read_mask, strict=False):
        if read:
            services.notification_mark_read(user=user, notification_id=notification.pk)
    wanted = {None: (False, True), "true": (False,), "false": (True,)}[unread]
    expected = [n.seq for n, read in zip(created, read_mask, strict=False) if read in wanted][::-1]

    params = {"limit": limit, **({"unread": unread} if unread is not None else {})}
    seen: list[int] = []
    page = auth_client.get(URL, params).json()
    seen += [item["seq"] for item in page["items"]]
    for index in range(arrivals):  # newer rows appear after the first page: they must not disturb the walk
        services.notification_send(user_id=user.pk, kind="system.message", title=f"late {index}")
    while page["has_more"]:
        assert page["next_cursor"]
        page = auth_client.get(URL, {**params, "cursor": page["next_cursor"]}).json()
        assert len(page["items"]) <= limit
        seen += [item["seq"] for item in page["items"]]
    assert page["next_cursor"] is None
    assert seen == expected


# --- Property 22 ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@hsettings(db_property, max_examples=8)
@given(
    items=st.lists(st.tuples(titles, safe_text, json_objects), min_size=1, max_size=4),
    read_one=st.booleans(),
)
async def test_property_22_notification_persistence(user, tokens, items, read_one):
    """Every notification pushed to a socket is in the history, identical to what was pushed."""
    communicator, _ = await ws_ready(tokens["user"])
    for title, body, data in items:
        await asend(user_id=user.pk, kind="system.message", title=title, body=body, data=data)
    pushed = [(await receive_type(communicator, "notification"))["notification"] for _ in items]
    await communicator.disconnect()

    @database_sync_to_async
    def history() -> dict[str, dict]:
        rows = selectors.notification_list(user=user).filter(pk__in=[p["id"] for p in pushed])
        return {str(row.pk): json.loads(json.dumps(NotificationSerializer(row).data)) for row in rows}

    stored = await history()
    assert set(stored) == {p["id"] for p in pushed}
    for payload in pushed:
        assert stored[payload["id"]] == payload
    assert [p["seq"] for p in pushed] == sorted(p["seq"] for p in pushed)


# --- Property 23 ----------------------------------------------------------------------------------


@pytest.mark.django_db
@hsettings(db_property, max_examples=40)
@given(title=titles, body=padded_text, data=json_objects, kind=st.sampled_from(["system.message", "order.paid"]))
def test_property_23_notification_round_trip(auth_client, user, title, body, data, kind):
    """A notification survives create -> store -> list -> JSON unchanged (the body is never trimmed)."""
    response = auth_client.post(URL, {"title": title, "body": body, "data": data, "kind": kind}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["title"], created["body"], created["data"], created["kind"]) == (title.strip(), body, data, kind)

    listed = next(item for item in auth_client.get(URL, {"limit": 1}).json()["items"])
    assert listed == created
    assert json.loads(json.dumps(listed)) == listed
    stored = Notification.objects.get(pk=created["id"])
    assert json.loads(json.dumps(NotificationSerializer(stored).data)) == created
    # The hand-built payload (REST and live) is what the serializer's declared fields would produce.
    generic = ModelSerializer.to_representation(NotificationSerializer(), stored)
    assert json.loads(json.dumps(generic)) == created


# --- The unread count (a precompiled statement) -----------------------------------------------------


@pytest.mark.django_db
@hsettings(db_property, max_examples=20)
@given(
    mine=st.lists(st.booleans(), max_size=8),
    theirs=st.lists(st.booleans(), max_size=5),
)
def test_unread_count_is_the_count_of_my_unread_notifications(auth_client, user, other_user, mine, theirs):
    """Whatever is read and whoever else has notifications, the count is exactly my unread ones."""
    Notification.objects.all().delete()
    for owner, read_mask in ((user, mine), (other_user, theirs)):
        for index, read in enumerate(read_mask):
            sent = services.notification_send(user_id=owner.pk, kind="system.message", title=f"n{index}")
            if read:
                services.notification_mark_read(user=owner, notification_id=sent.pk)
    expected = mine.count(False)
    assert selectors.notification_unread_count(user=user) == expected
    assert selectors.notification_unread_count(user=other_user) == theirs.count(False)
    assert auth_client.get("/api/v1/notifications/unread-count").json() == {"unread_count": expected}
