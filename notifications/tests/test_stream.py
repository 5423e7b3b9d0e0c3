"""`stream.Position`: the dedupe and gap-fill rules every WebSocket and SSE stream goes through."""

import pytest

from notifications import services
from notifications.serializers import notification_payload
from notifications.stream import Position

pytestmark = pytest.mark.django_db(transaction=True)


async def _seqs(iterator) -> list[int]:
    return [int(payload["seq"]) async for payload in iterator]


@pytest.fixture
def five_rows(user):
    return [services.notification_send(user_id=user.pk, kind="system.message", title=f"n{i}") for i in range(1, 6)]


@pytest.mark.parametrize(("gap", "expected"), [(0, [2]), (1, [2, 3]), (2, [2, 3, 4])])
async def test_live_push_after_a_gap_of_any_size_is_preceded_by_exactly_the_missed_rows(user, five_rows, gap, expected):
    """Having sent seq 1, a push of seq 2 + gap is preceded by seqs 2 .. 1 + gap (a gap of exactly one included)."""
    position = Position(user.pk, last=1)
    pushed = notification_payload(five_rows[gap + 1])
    assert await _seqs(position.live(pushed)) == expected


@pytest.mark.parametrize("seq", [1, 2])
async def test_live_push_at_or_below_the_position_is_a_duplicate(user, five_rows, seq):
    position = Position(user.pk, last=2)
    assert await _seqs(position.live(notification_payload(five_rows[seq - 1]))) == []


async def test_catch_up_sends_everything_above_the_position(user, five_rows):
    position = Position(user.pk, last=3)
    assert await _seqs(position.catch_up()) == [4, 5]
    assert await _seqs(position.catch_up(head=4)) == [4]
