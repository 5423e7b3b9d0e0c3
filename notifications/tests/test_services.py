"""Services: sequence allocation, validation, persist-then-push, broadcast, read."""

import asyncio
import datetime as dt
import decimal
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.errors import NotFound, ValidationFailed
from common.jobs import JobStatus
from notifications import selectors, services
from notifications.models import Broadcast, Notification, NotificationCounter
from notifications.push import user_group


def _send(user, title="t", **extra):
    return services.notification_send(user_id=user.pk, kind=extra.pop("kind", "system.message"), title=title, **extra)


@pytest.mark.django_db
def test_seq_is_per_user_and_gapless(user, other_user):
    assert [_send(user).seq for _ in range(3)] == [1, 2, 3]
    assert _send(other_user).seq == 1
    assert selectors.notification_last_seq(user_id=user.pk) == 3
    assert selectors.notification_last_seq(user_id=uuid.uuid4()) == 0


@pytest.mark.django_db
def test_rolled_back_send_leaves_no_row_no_seq_and_no_push(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        _send(user)
        raise RuntimeError("caller failed after sending")
    assert callbacks == []
    assert not Notification.objects.exists()
    assert _send(user).seq == 1


@pytest.mark.django_db
def test_push_happens_only_after_commit(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        _send(user)
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_data_is_normalised_to_plain_json(user):
    moment = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
    ref = uuid.uuid4()
    notification = _send(user, data={"at": moment, "ref": ref, "amount": decimal.Decimal("12.50")})
    expected = {"at": "2026-11-26T08:00:00Z", "ref": str(ref), "amount": "12.50"}
    assert notification.data == expected
    notification.refresh_from_db()
    assert notification.data == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "Order.Paid"},
        {"kind": "orderpaid"},
        {"kind": "a." + "b" * 70},
        {"title": "   "},
        {"body": None},
        {"data": [1, 2]},
        {"data": {"x": float("nan")}},
        {"data": {"x": object()}},
        {"data": {"big": "x" * 20_000}},
        {"body": "\x00"},
    ],
)
def test_send_rejects_bad_content(user, kwargs):
    arguments = {"kind": "system.message", "title": "ok", **kwargs}
    with pytest.raises(ValidationFailed):
        services.notification_send(user_id=user.pk, **arguments)
    assert not Notification.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("user_id", ["not-a-uuid", None, uuid.uuid4()])
def test_send_rejects_unknown_user(user_id):
    with pytest.raises(ValidationFailed) as info:
        services.notification_send(user_id=user_id, kind="system.message", title="x")
    assert info.value.errors and info.value.errors[0]["attr"] == "user_id"


@pytest.mark.django_db
def test_any_dotted_kind_is_accepted_by_the_service(user):
    assert _send(user, kind="webhook.replayed").kind == "webhook.replayed"


@pytest.mark.django_db
def test_broadcast_writes_one_row_per_active_user_in_batches(
    user, other_user, staff_user, django_assert_max_num_queries
):
    get_user_model().objects.create_user(email="off@example.com", password="x" * 12, is_active=False)
    _send(user)  # existing counters keep counting
    with django_assert_max_num_queries(20):
        count = services.notification_broadcast(kind="system.message", title="all", batch_size=2)
    assert count == 3
    assert {n.recipient_id: n.seq for n in Notification.objects.filter(title="all")} == {
        user.pk: 2,
        other_user.pk: 1,
        staff_user.pk: 1,
    }


@pytest.mark.django_db
def _statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL run, without transaction control (BEGIN/COMMIT, or the savepoints that a test's own
    transaction turns `atomic` into)."""
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(control)]


@pytest.mark.django_db
def test_send_takes_the_seq_and_writes_the_row_in_as_few_statements_as_the_database_allows(user):
    _send(user)
    with CaptureQueriesContext(connection) as queries:
        assert _send(user).seq == 2
    statements = _statements(queries)
    if connection.vendor == "postgresql":  # one statement: atomic without a transaction of its own
        [both] = statements
        assert "ON CONFLICT" in both and both.count("INSERT INTO") == 2
    else:
        upsert, insert = statements  # the upsert also checks that the user exists
        assert "ON CONFLICT" in upsert and "INSERT" in insert


@pytest.mark.django_db(transaction=True)
def test_a_sent_row_is_what_the_database_holds(user):
    sent = services.notification_send(
        user_id=user.pk, kind="order.paid", title="Paid ✓", body="b", data={"n": [1, "ü"], "ok": True}
    )
    stored = Notification.objects.get(pk=sent.pk)
    fields = [field.attname for field in Notification._meta.concrete_fields]
    assert {name: getattr(sent, name) for name in fields} == {name: getattr(stored, name) for name in fields}
    assert stored.created_at is not None and stored.read_at is None and stored.dedupe_key is None
    assert not sent._state.adding and sent._state.db == "default"


@pytest.mark.django_db(transaction=True)
def test_sending_to_an_unknown_user_writes_nothing():
    with pytest.raises(ValidationFailed) as raised:
        services.notification_send(user_id=uuid.uuid4(), kind="order.paid", title="t")
    assert raised.value.errors and raised.value.errors[0]["code"] == "unknown_user"
    assert not Notification.objects.exists() and not NotificationCounter.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_send_many_gives_each_user_a_row_a_seq_and_a_push(user, other_user):
    layer = get_channel_layer()

    def send() -> tuple[list[Notification], list[str]]:  # a worker thread, as in a Celery task
        _send(user)
        with CaptureQueriesContext(connection) as queries:
            rows = services.notification_send_many(
                user_ids=[str(user.pk), other_user.pk, user.pk, uuid.uuid4()],  # a repeat and an unknown id
                kind="system.message",
                title="both",
                data={"n": 1},
            )
        return rows, _statements(queries)

    async def scenario() -> tuple[list[Notification], list[str], dict]:  # one loop, as in a server
        channels = {}
        for member in (user, other_user):
            channels[member.pk] = await layer.new_channel()
            await layer.group_add(user_group(member.pk), channels[member.pk])
        rows, statements = await asyncio.to_thread(send)
        pushed = {}
        for member, channel in channels.items():
            message = await layer.receive(channel)
            while message["notification"]["title"] != "both":  # the earlier single send
                message = await layer.receive(channel)
            pushed[member] = message["notification"]
        return rows, statements, pushed

    rows, statements, pushed = async_to_sync(scenario)()
    assert len(statements) == 2
    assert sorted((row.recipient_id, row.seq) for row in rows) == sorted([(user.pk, 2), (other_user.pk, 1)])
    assert {member: payload["seq"] for member, payload in pushed.items()} == {user.pk: 2, other_user.pk: 1}
    assert all(payload["data"] == {"n": 1} for payload in pushed.values())


@pytest.mark.django_db
def test_send_many_skips_users_who_have_the_key_and_caps_the_batch(user, other_user, settings):
    key = uuid.uuid4()
    _send(user, dedupe_key=key)
    rows = services.notification_send_many(
        user_ids=[user.pk, other_user.pk], kind="system.message", title="t", dedupe_key=key
    )
    assert [row.recipient_id for row in rows] == [other_user.pk]
    assert Notification.objects.filter(dedupe_key=key).count() == 2

    with pytest.raises(ValidationFailed) as malformed:
        services.notification_send_many(user_ids=[user.pk, "not-an-id"], kind="system.message", title="t")
    assert malformed.value.errors and malformed.value.errors[0]["attr"] == "user_ids"

    settings.NOTIFICATIONS_BROADCAST_BATCH_SIZE = 1
    with pytest.raises(ValidationFailed) as raised:
        services.notification_send_many(user_ids=[user.pk, other_user.pk], kind="system.message", title="t")
    assert raised.value.errors and raised.value.errors[0]["code"] == "too_many_recipients"
    assert Notification.objects.count() == 2


@pytest.mark.django_db
def test_mark_read_scoped_to_owner(user, other_user):
    theirs = _send(other_user)
    with pytest.raises(NotFound):
        services.notification_mark_read(user=user, notification_id=theirs.pk)
    with pytest.raises(NotFound):
        services.notification_mark_read(user=user, notification_id="garbage")
    mine = services.notification_mark_read(user=other_user, notification_id=theirs.pk)
    assert mine.read_at is not None


@pytest.mark.django_db
def test_mark_all_read_is_one_update(user, django_assert_num_queries):
    for _ in range(3):
        _send(user)
    with django_assert_num_queries(1):
        assert services.notification_mark_all_read(user=user) == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_get_distinct_consecutive_seqs(user):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers anyway; the row-lock path needs PostgreSQL")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                _send(user)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = sorted(Notification.objects.filter(recipient=user).values_list("seq", flat=True))
    assert seqs == list(range(1, 21))
    assert NotificationCounter.objects.get(user=user).last_seq == 20


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_channel_layer_never_fails_the_send(user, settings, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
    with caplog.at_level("WARNING", logger="notifications.push"):
        notification = _send(user)
    assert Notification.objects.filter(pk=notification.pk).exists()
    assert "failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_read_receipts_are_pushed(user):
    layer = get_channel_layer()

    def send_and_read() -> Notification:  # a worker thread
        notification = _send(user)
        services.notification_mark_read(user=user, notification_id=notification.pk)
        return notification

    async def scenario() -> tuple[Notification, list[dict]]:  # one loop, as in a server
        channel = await layer.new_channel()
        await layer.group_add(user_group(user.pk), channel)
        notification = await asyncio.to_thread(send_and_read)
        return notification, [await layer.receive(channel), await layer.receive(channel)]

    notification, (first, second) = async_to_sync(scenario)()
    assert first["type"] == "notification.message"
    assert second == {"type": "notification.read", "ids": [str(notification.pk)], "all": False, "count": 1}


@pytest.mark.django_db
def test_create_enforces_targeting_rules(user, other_user, staff_user):
    from common.errors import PermissionDenied

    mine = services.notification_create(actor=user, kind="system.message", title="me")
    assert isinstance(mine, Notification) and mine.recipient_id == user.pk
    with pytest.raises(PermissionDenied):
        services.notification_create(actor=user, kind="system.message", title="you", user_id=other_user.pk)
    with pytest.raises(PermissionDenied):
        services.notification_create(actor=user, kind="system.message", title="all", broadcast=True)
    theirs = services.notification_create(actor=staff_user, kind="system.message", title="you", user_id=other_user.pk)
    assert isinstance(theirs, Notification) and theirs.recipient_id == other_user.pk


@pytest.mark.django_db
def test_create_validates_a_broadcast_before_queueing(staff_user, django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=False) as queued, pytest.raises(ValidationFailed):
        services.notification_create(
            actor=staff_user, kind="system.message", title="x" * 10, body="b" * 5000, broadcast=True
        )
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True) as queued:
        broadcast_id = services.notification_create(actor=staff_user, kind="system.message", title="ok", broadcast=True)
    assert isinstance(broadcast_id, uuid.UUID) and len(queued) >= 1  # the task, then its pushes
    assert set(Notification.objects.values_list("dedupe_key", flat=True)) == {broadcast_id}
    assert Broadcast.objects.get(pk=broadcast_id).status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_broadcast_job_run_twice_sends_each_user_once(user, other_user, staff_user):
    from notifications.tasks import notification_broadcast_job_task

    broadcast = Broadcast.objects.create(kind="system.message", title="once")
    first = notification_broadcast_job_task.apply(args=(str(broadcast.pk),)).get()
    again = notification_broadcast_job_task.apply(args=(str(broadcast.pk),)).get()
    assert (first, again) == (3, 0)  # the second delivery finds the row done and does nothing
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.attempts, broadcast.sent_count) == (JobStatus.SUCCEEDED, 1, 3)
    assert Notification.objects.count() == 3
    assert selectors.notification_last_seq(user_id=user.pk) == 1  # no seq handed out for a skipped user


@pytest.mark.django_db
def test_a_broadcast_that_hits_a_database_error_is_queued_again_with_a_due_time(user, monkeypatch, settings):
    settings.NOTIFICATIONS_BROADCAST_MAX_ATTEMPTS = 2
    broadcast = Broadcast.objects.create(kind="system.message", title="flaky")

    def down(**kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(services.broadcasts, "notification_broadcast", down)
    services.broadcast_run(broadcast_id=broadcast.pk)
    broadcast.refresh_from_db()
    assert broadcast.status == JobStatus.QUEUED and broadcast.error_code == "database_error"
    assert broadcast.due_at > timezone.now()
    services.broadcast_run(broadcast_id=broadcast.pk)  # the last allowed attempt fails for good
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.attempts) == (JobStatus.FAILED, 2)


@pytest.mark.django_db
def test_broadcast_rerun_after_a_partial_run_completes_the_rest(user, other_user, staff_user):
    """A run that died after its first batch: the re-run writes only the users that batch missed."""
    broadcast_id = uuid.uuid4()
    first_pk = min(u.pk for u in (user, other_user, staff_user))
    services.notification_send(user_id=first_pk, kind="system.message", title="b", dedupe_key=broadcast_id)
    written = services.notification_broadcast(kind="system.message", title="b", batch_size=2, broadcast_id=broadcast_id)
    assert written == 2
    assert sorted(Notification.objects.values_list("seq", flat=True)) == [1, 1, 1]


@pytest.mark.django_db
def test_send_task_run_twice_with_a_key_writes_one_row(user):
    from notifications.tasks import notification_send_task

    key = str(uuid.uuid4())
    kwargs = {"user_id": str(user.pk), "kind": "system.message", "title": "once", "dedupe_key": key}
    first = notification_send_task.apply(kwargs=kwargs).get()
    again = notification_send_task.apply(kwargs=kwargs).get()
    assert first == again
    assert Notification.objects.filter(recipient=user).count() == 1
    assert selectors.notification_last_seq(user_id=user.pk) == 1


@pytest.mark.django_db
def test_send_rejects_a_lone_surrogate_anywhere(user):
    for kwargs in ({"data": {"a": "\ud800"}}, {"data": {"\udfff": [1]}}, {"title": "x\ud800"}, {"body": "\udc00"}):
        with pytest.raises(ValidationFailed):
            _send(user, **{"title": "t", **kwargs})
    assert not Notification.objects.exists()
