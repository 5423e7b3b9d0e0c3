"""The active user behind an access token, cached for AUTH_USER_CACHE_SECONDS.

Every Bearer request needs its user row; reading it from the cache instead of PostgreSQL saves a pool
checkout and a query per request, and the rate limiter reads the entry in the same Redis round trip
as its count (`common.ratelimit.Principal.fetch_keys`), so an authenticated read costs one cache
round trip and no query before the view's own.

What keeps it correct:
- only active users are cached, without the password hash (deferred: reading `password` loads it
  from the database, and `save()` of a cached instance never writes a password it did not load);
- every save or delete of a user drops the entry at once and again after the transaction commits;
  a request that read the old row before the commit and caches it after that delete leaves it for
  up to AUTH_USER_CACHE_SECONDS: other requests may then see the old row that long (accepted), but
  open streams never do: their credential re-checks read the user from the database
  (`authenticate_access_token(fresh_user=True)`);
- a deactivation or deletion drops it before it has the user's open streams re-check
  (`auth_app.signals`);
- the entry lives at most AUTH_USER_CACHE_SECONDS (0 turns the cache off). Code that changes users
  with `QuerySet.update()` (no signals) must call `user_cache_forget`.
A logged-out or revoked session is refused by the session denylist, which is never cached here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .models import User

USER_CACHE_PREFIX = "auth:user:"


def user_cache_key(user_id: Any) -> str:
    return f"{USER_CACHE_PREFIX}{user_id}"


def user_cache_enabled() -> bool:
    return int(settings.AUTH_USER_CACHE_SECONDS) > 0


def user_active_load(*, user_id: str) -> User | None:
    """The active user `user_id` from the database (password deferred), cached for the next requests."""
    user = User.objects.defer("password").filter(pk=user_id, is_active=True).first()
    if user is not None and user_cache_enabled():
        cache.set(user_cache_key(user_id), user, timeout=int(settings.AUTH_USER_CACHE_SECONDS))
    return user


def user_cache_forget(user_id: Any) -> None:
    """Drop the cached row of `user_id` now and once more when the current transaction commits."""
    key = user_cache_key(user_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _forget_on_change(sender: type[User], instance: User, **kwargs: Any) -> None:
    user_cache_forget(instance.pk)


def connect_signals() -> None:
    post_save.connect(_forget_on_change, sender=User, dispatch_uid="auth_app.user_cache.save")
    post_delete.connect(_forget_on_change, sender=User, dispatch_uid="auth_app.user_cache.delete")
