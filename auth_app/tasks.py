"""Celery tasks of the Auth API: thin wrappers that call one service each."""

from celery import shared_task

from . import services

# Mail tasks: SMTP hiccups (OSError) are retried with backoff; the longest wait (600 s) stays well
# inside the broker's visibility timeout, so a retried message is never redelivered twice.
email_task = shared_task(
    acks_late=True,
    time_limit=60,
    soft_time_limit=45,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240, max_retries=0)
def auth_sessions_purge_expired() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): delete expired session rows in batches."""
    return services.auth_sessions_purge_expired()


@email_task
def password_reset_email_send_task(email: str) -> bool:
    """Send one password-reset mail if an active account has `email`; SMTP hiccups (OSError) are retried.

    It takes the address rather than a user id on purpose: the request queues it for every address,
    so that registered and unknown addresses cost the request the same.
    """
    return services.password_reset_email_send(email=email)


@email_task
def email_change_notice_send_task(old_email: str, new_email: str) -> None:
    """Tell the previous address that the account's email changed; SMTP hiccups (OSError) are retried."""
    services.email_change_notice_send(old_email=old_email, new_email=new_email)
