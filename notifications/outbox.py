"""The bounded outgoing queue of one WebSocket: entries and bytes are both capped."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any


def _encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class Outbox:
    """A queue of encoded frames bounded by entry count and by bytes (`max_bytes` 0: no byte limit).

    One frame larger than the byte budget is still accepted into an empty queue, so it cannot wedge.
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max(1, max_entries)
        self.max_bytes = max(0, max_bytes)
        self.pending_bytes = 0
        self._items: deque[tuple[dict[str, Any], str]] = deque()
        self._changed = asyncio.Condition()

    def qsize(self) -> int:
        return len(self._items)

    def _fits(self, size: int) -> bool:
        if len(self._items) >= self.max_entries:
            return False
        return not self.max_bytes or not self._items or self.pending_bytes + size <= self.max_bytes

    def _append(self, message: dict[str, Any], text: str) -> None:
        self._items.append((message, text))
        self.pending_bytes += len(text)

    async def offer(self, message: dict[str, Any]) -> bool:
        """Queue without waiting; False when there is no room."""
        text = _encode(message)
        async with self._changed:
            if not self._fits(len(text)):
                return False
            self._append(message, text)
            self._changed.notify_all()
        return True

    async def put(self, message: dict[str, Any], timeout: float) -> bool:
        """Queue, waiting up to `timeout` seconds for room; False when none came."""
        text = _encode(message)
        async with self._changed:
            if not self._fits(len(text)):  # the usual case has room: no timer, no task
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: self._fits(len(text))), timeout=timeout)
                except TimeoutError:
                    return False
            self._append(message, text)
            self._changed.notify_all()
        return True

    async def get(self) -> tuple[dict[str, Any], str]:
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._items))
            message, text = self._items.popleft()
            self.pending_bytes -= len(text)
            self._changed.notify_all()
        return message, text
