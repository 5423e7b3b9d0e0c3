"""Ordered, gap-free delivery of one user's notifications: shared by the WebSocket consumer and SSE.

A connection remembers `last`, the highest seq it has sent. Every notification it forwards goes
through `Position`:

- a live message at or below `last` is a duplicate and is skipped;
- one that jumps ahead (the layer dropped a push) is preceded by the skipped rows, read from the
  database;
- `catch_up` sends everything in the database above `last` (after a receive error, and on each
  ping/heartbeat, which also covers a dropped *last* push and lost group membership).

Database reads here are read-only and run with `thread_sensitive=False`, so thousands of open
connections do not queue behind Django's single thread-sensitive executor; `database_sync_to_async`
hands each call's connection back (to the pool) when it returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

from . import selectors
from .serializers import notification_payload

T = TypeVar("T")
Payload = dict[str, Any]


def shared_cache_sqlite() -> bool:
    """SQLite's in-memory database (the test database of the embedded mode) is one shared cache
    whose table locks fail a reader at once (no busy wait) while another thread writes."""
    return connection.vendor == "sqlite" and bool(getattr(connection, "is_in_memory_db", bool)())


def _closing(function: Callable[..., T], kwargs: dict[str, Any]) -> T:
    """Call `function`, handing its database connection back afterwards.

    `close_old_connections()` runs inside the call (not around it, as `database_sync_to_async`
    does): asgiref runs the call in a copy of the caller's context, and on a worker thread that is
    not the thread-sensitive one the connection opened inside is only visible from there. Closed from
    outside, it was never returned to the pool.
    """
    close_old_connections()
    try:
        return function(**kwargs)
    finally:
        close_old_connections()


async def read_only(function: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a read-only, thread-safe database call on the general executor, not the thread-sensitive one."""
    result: T = await sync_to_async(_closing, thread_sensitive=shared_cache_sqlite())(function, kwargs)
    return result


async def newest_seq(user_id: Any) -> int:
    """The newest seq handed out to the user (0 before the first notification)."""
    return await read_only(selectors.notification_last_seq, user_id=user_id)


def _payloads_after(*, user_id: Any, after_seq: int, up_to_seq: int | None) -> list[Payload]:
    rows = selectors.notification_after(
        user_id=user_id, after_seq=after_seq, up_to_seq=up_to_seq, limit=settings.NOTIFICATIONS_REPLAY_PAGE_SIZE
    )
    return [notification_payload(row) for row in rows]


async def replay(user_id: Any, after_seq: int, up_to_seq: int | None = None) -> AsyncIterator[Payload]:
    """Payloads of the user's notifications after `after_seq` (through `up_to_seq`), oldest first, page by page."""
    while up_to_seq is None or after_seq < up_to_seq:
        page = await read_only(_payloads_after, user_id=user_id, after_seq=after_seq, up_to_seq=up_to_seq)
        for payload in page:
            yield payload
        if len(page) < settings.NOTIFICATIONS_REPLAY_PAGE_SIZE:
            return
        after_seq = int(page[-1]["seq"])


class Position:
    """The highest seq one connection has sent, and the dedupe/gap-fill rules around it.

    The iterators yield payloads to send, in ascending seq order; the caller sends each one and then
    calls `sent(payload)` (a payload it could not send is not counted, so a later call fills it).
    """

    def __init__(self, user_id: Any, last: int) -> None:
        self.user_id = user_id
        self.last = last

    def sent(self, payload: Payload) -> None:
        self.last = max(self.last, int(payload["seq"]))

    async def live(self, payload: Payload) -> AsyncIterator[Payload]:
        """A pushed payload: nothing for a duplicate; the skipped rows first for a jump ahead."""
        seq = int(payload["seq"])
        if seq <= self.last:
            return
        if seq > self.last + 1:
            async for missed in replay(self.user_id, self.last, seq - 1):
                yield missed
        if seq > self.last:
            yield payload

    async def catch_up(self, head: int | None = None) -> AsyncIterator[Payload]:
        """Everything above `last` (through `head`, by default the newest seq now) from the database."""
        if head is None:
            head = await newest_seq(self.user_id)
        if head > self.last:
            async for missed in replay(self.user_id, self.last, head):
                yield missed


async def clamp_position(user_id: Any, position: int | None) -> tuple[int, int]:
    """`(start, head)`: a client position clamped to the user's newest seq (None means "from now").

    A position beyond the newest seq (a client remembering another database, or a typo) would mute
    the stream until the user's seqs caught up with it; it counts as "now" instead.
    """
    head = await newest_seq(user_id)
    return (head if position is None else min(position, head)), head
