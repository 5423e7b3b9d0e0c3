"""Signal receivers: credential changes that happen outside our services reach open streams at once.

Django's own sign-out (`/admin/logout/`, any view calling `django.contrib.auth.logout`) sends
`user_logged_out`; a user deactivated or deleted anywhere (the admin, a shell, another app) saves or
deletes the row. Each has the user's open WebSockets and SSE streams re-check their credential now
(`user_streams_recheck`), instead of at their next periodic re-check.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import User
from .services import user_streams_recheck
from .user_cache import user_cache_forget


@receiver(user_logged_out, dispatch_uid="auth_app.streams_on_logout")
def _streams_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Sent before Django deletes the session: name it, so its streams close rather than re-check.
    if user is not None and getattr(user, "pk", None) is not None:
        session_key = getattr(getattr(request, "session", None), "session_key", None)
        user_streams_recheck(user_ids=[user.pk], ended_session_key=session_key)


def _forget_then_recheck(user: User) -> None:
    # A stream re-checks the moment the push arrives: the cached row must be gone by then, now (outside
    # a transaction the push is sent at once) and at commit (a request may have cached the old row
    # meanwhile). The cache's own receivers run after these, too late for the push.
    user_cache_forget(user.pk)
    user_streams_recheck(user_ids=[user.pk])


@receiver(post_save, sender=User, dispatch_uid="auth_app.streams_on_deactivation")
def _streams_on_deactivation(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        _forget_then_recheck(instance)


@receiver(post_delete, sender=User, dispatch_uid="auth_app.streams_on_delete")
def _streams_on_delete(sender: Any, instance: User, **kwargs: Any) -> None:
    _forget_then_recheck(instance)
