"""The Auth API's own abuse limits, counted in the Django cache (Redis in services mode).

- login: AUTH_LOGIN_RATE_PER_IP attempts per client IP (django-ratelimit through `common.ratelimit`).
- password checks per account: AUTH_LOGIN_FAILURES_PER_ACCOUNT. Every check of a password against an
  account (login, the current password of `password/change` and of an email change) is counted
  BEFORE the hasher runs, with one atomic increment, and refused with 429 once the count passes the
  limit; a check that succeeds gives its count back. So parallel wrong guesses cannot outrun the
  limit: at most that many passwords are ever checked per window. Keyed by the normalised email
  (hashed), whether or not an account has it. Once the failures are used up, every login for the
  account is 429 until the window ends, even with the right password.
- register, password reset, refresh: per client IP; reset also per target address.

All are switched by AUTH_RATE_LIMIT_ENABLED. A refusal is a 429 problem with `Retry-After` and the
RateLimit headers. An unreachable cache is a 503 `service_unavailable` (never a 500, never a bypass).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django_ratelimit.core import _split_rate
from redis.exceptions import RedisError

from common.errors import RateLimited, ServiceUnavailable
from common.ratelimit import Usage, check_rate, rate_limit_headers, rate_limited_error

from ._utils import normalize_email

logger = logging.getLogger(__name__)

ACCOUNT_ATTEMPTS_PREFIX = "auth:password-checks:"
ACCOUNT_POLICY = "login-account"
# Errors of an unreachable cache (redis-py's own, and socket errors, ConnectionError among them).
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


def _enabled() -> bool:
    return bool(settings.AUTH_RATE_LIMIT_ENABLED)


@contextmanager
def cache_guard() -> Iterator[None]:
    """Turn an unreachable cache into a 503 problem (`service_unavailable`) instead of a 500."""
    try:
        yield
    except CACHE_ERRORS as exc:
        logger.warning("auth: the cache is unreachable", exc_info=True)
        raise ServiceUnavailable("The rate-limit and session store is unavailable; retry later.") from exc


def _email_digest(email: str) -> str:
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


def _email_key(email: str) -> Callable[[str, HttpRequest], str]:
    digest = _email_digest(email)

    def key(group: str, request: HttpRequest) -> str:
        return f"account:{digest}"

    return key


def throttle_ip(request: HttpRequest, *, policy: str, rate_setting: str) -> None:
    """Count this request against the client IP; 429 past the limit."""
    if not _enabled():
        return
    with cache_guard():
        usage = check_rate(request, group=f"auth-{policy}", key="ip", rate=rate_setting)
    if usage.limited:
        raise rate_limited_error(usage, policy)


def throttle_email(request: HttpRequest, *, policy: str, rate_setting: str, email: str) -> None:
    """Count this request against a target address (hashed); 429 past the limit."""
    if not _enabled():
        return
    with cache_guard():
        usage = check_rate(request, group=f"auth-{policy}", key=_email_key(email), rate=rate_setting)
    if usage.limited:
        raise rate_limited_error(usage, policy)


# --- Password checks per account ------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordAttempt:
    """One counted password check; hand it to `password_attempt_succeeded` when the password was right."""

    key: str | None  # the counter's cache key; None when the limits are off


def password_attempt_begin(*, email: str) -> PasswordAttempt:
    """Count a password check against the account BEFORE it runs; 429 once the count passes the limit.

    The counter is a fixed window (AUTH_LOGIN_FAILURES_PER_ACCOUNT) whose cache key names the window,
    so it is created once (`cache.add`) and then only incremented (`cache.incr`, one atomic INCR on
    Redis): of N parallel attempts exactly `limit` get through.
    """
    if not _enabled():
        return PasswordAttempt(key=None)
    limit, window = _split_rate(settings.AUTH_LOGIN_FAILURES_PER_ACCOUNT)
    now = int(time.time())
    window_end = now - now % window + window
    key = f"{ACCOUNT_ATTEMPTS_PREFIX}{_email_digest(email)}:{window_end}"
    with cache_guard():
        cache.add(key, 0, timeout=window + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # the key expired between add and incr: the window is over, start anew
            cache.add(key, 1, timeout=window + 1)
            count = 1
    usage = Usage(limit=limit, window=window, count=count, reset=max(1, window_end - now))
    if usage.limited:
        headers = rate_limit_headers(usage, ACCOUNT_POLICY)
        raise RateLimited(
            f"Too many failed password attempts for this account; retry in {usage.reset} seconds.", headers=headers
        )
    return PasswordAttempt(key=key)


def password_attempt_succeeded(attempt: PasswordAttempt) -> None:
    """The password was right: give the attempt back, so that only failures use up the allowance."""
    if attempt.key is None:
        return
    try:
        cache.decr(attempt.key)
    except ValueError:  # the window ended meanwhile; nothing to give back
        pass
    except CACHE_ERRORS:
        logger.warning("auth: could not give back a password attempt", exc_info=True)
