"""The notifications' channel-layer vocabulary: one group per user, and the two message types.

Services publish with `common.channels.group_send_after_commit`; WebSocket/SSE clients fill any gap
from the database by `seq`.
"""

from __future__ import annotations

from typing import Any

GROUP_PREFIX = "notifications.user."
# Channel-layer message types, dispatched to the consumer's / SSE stream's handlers.
NOTIFICATION_MESSAGE = "notification.message"
READ_MESSAGE = "notification.read"


def user_group(user_id: object) -> str:
    """The channel-layer group of one user's connections (every process, every tab)."""
    return f"{GROUP_PREFIX}{user_id}"


def notification_message(payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": NOTIFICATION_MESSAGE, "notification": payload}


def read_message(*, ids: list[str] | None = None, all_read: bool = False, count: int = 0) -> dict[str, Any]:
    return {"type": READ_MESSAGE, "ids": list(ids or []), "all": all_read, "count": count}
