"""Celery tasks of the Webhook Tester: thin, by id, safe to run twice."""

from celery import shared_task

from .services import bin_notify_send, bins_purge_expired, bins_trim_all, replay_send


@shared_task(acks_late=True, time_limit=60, soft_time_limit=45)
def replay_send_task(replay_id: str) -> None:
    """Send one queued replay (common.jobs claims it, so a duplicate delivery does nothing)."""
    replay_send(replay_id=replay_id)


@shared_task(acks_late=True, time_limit=30, soft_time_limit=20)
def bin_notify_task(bin_id: str, event_id: str, window: int) -> None:
    """Notify a bin's owner of a capture (dedupe key per bin and window)."""
    bin_notify_send(bin_id=bin_id, event_id=event_id, window=window)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def bins_purge_task() -> dict[str, int]:
    """Delete expired bins, and trim every bin to its event cap."""
    return {"bins_deleted": bins_purge_expired(), "events_trimmed": bins_trim_all()}
