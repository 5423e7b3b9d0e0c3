"""Celery tasks of the Notifications API: thin wrappers that call one service each."""

from typing import Any

from celery import shared_task

from . import services


@shared_task(acks_late=True, time_limit=60, soft_time_limit=45, max_retries=0)
def notification_send_task(
    user_id: str, kind: str, title: str, body: str = "", data: dict[str, Any] | None = None
) -> str:
    """Send one notification from a worker; returns its id. Queue it with `delay_on_commit`."""
    return str(services.notification_send(user_id=user_id, kind=kind, title=title, body=body, data=data).pk)


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700, max_retries=0)
def notification_broadcast_task(kind: str, title: str, body: str = "", data: dict[str, Any] | None = None) -> int:
    """Broadcast to every active user in batches; not retried (a retry would send the batches done twice)."""
    return services.notification_broadcast(kind=kind, title=title, body=body, data=data)
