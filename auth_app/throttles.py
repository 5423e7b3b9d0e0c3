"""The Auth API's own abuse limits, counted in the Django cache (Redis in services mode).

- login: AUTH_LOGIN_RATE_PER_IP attempts per client IP (django-ratelimit through `common.ratelimit`).
- password checks: every check of a password against an account (login, admin and browser sign-in,
  the current password of `password/change` and of an email change) is counted BEFORE the hasher
  runs, with one atomic increment per counter, and refused with 429 once a count passes its limit; a
  check that succeeds gives its counts back. So parallel wrong guesses cannot outrun a limit. An
  untrusted client counts per (account, IP) (AUTH_LOGIN_FAILURES_PER_ACCOUNT_IP) and per account
  (AUTH_LOGIN_FAILURES_PER_ACCOUNT); a client with a device token of the account (or the account's
  Bearer session) only per device (AUTH_LOGIN_FAILURES_PER_DEVICE), so a stranger's guesses do not
  keep the owner out. Keyed by the canonical email (hashed), whether or not an account has it. A
  password reset clears every counter of the account.
- register, password reset, refresh: per client IP; reset also per target address.

All are switched by AUTH_RATE_LIMIT_ENABLED. A refusal is a 429 problem with `Retry-After` and the
RateLimit headers. An unreachable cache is a 503 `service_unavailable` (never a 500, never a bypass).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
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

from ._utils import email_key

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
    return hashlib.sha256(email_key(email).encode()).hexdigest()


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
#
# Who is counted where (docs/decisions.md, "Lockout model"):
# - an untrusted client (no device token for the account): per (account, client IP) and per account;
#   either limit refuses it (429) until its window ends;
# - a trusted client (a valid device token for the account, or the account's own Bearer session
#   checking `current_password`): only per (account, device), so strangers using up the account's
#   budget do not keep the owner out, and a stolen device token still gets few guesses.
# Every counter of an account carries the account's generation; a password reset starts a new one,
# which clears every lockout of the account at once.


@dataclass(frozen=True)
class PasswordAttempt:
    """One counted password check; hand it to `password_attempt_succeeded` when the password was right."""

    keys: tuple[str, ...] = ()  # the counters' cache keys; empty when the limits are off


def _generation_key(digest: str) -> str:
    return f"{ACCOUNT_ATTEMPTS_PREFIX}gen:{digest}"


def _longest_window() -> int:
    return max(
        _split_rate(getattr(settings, name))[1]
        for name in (
            "AUTH_LOGIN_FAILURES_PER_ACCOUNT",
            "AUTH_LOGIN_FAILURES_PER_ACCOUNT_IP",
            "AUTH_LOGIN_FAILURES_PER_DEVICE",
        )
    )


def _count(key_base: str, rate: str) -> tuple[str, Usage]:
    """One atomic increment of a fixed-window counter whose cache key names the window."""
    limit, window = _split_rate(rate)
    now = int(time.time())
    window_end = now - now % window + window
    key = f"{key_base}:{window_end}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr: the window is over, start anew
        cache.add(key, 1, timeout=window + 1)
        count = 1
    return key, Usage(limit=limit, window=window, count=count, reset=max(1, window_end - now))


def _give_back(keys: tuple[str, ...]) -> None:
    for key in keys:
        with contextlib.suppress(ValueError):  # the window ended meanwhile; nothing to give back
            cache.decr(key)


def password_attempt_begin(*, email: str, client_ip: str | None = None, device: str | None = None) -> PasswordAttempt:
    """Count a password check against `email`'s account BEFORE it runs; 429 once a count passes its limit.

    `device`: an id the caller has verified belongs to this account (a device token's id, a Bearer
    session id); the check then counts only against that device (AUTH_LOGIN_FAILURES_PER_DEVICE).
    Otherwise it counts against (account, `client_ip`) (AUTH_LOGIN_FAILURES_PER_ACCOUNT_IP) and the
    account (AUTH_LOGIN_FAILURES_PER_ACCOUNT). Each counter is a fixed window created once
    (`cache.add`) and then only incremented (one atomic INCR on Redis): of N parallel attempts exactly
    `limit` get through.
    """
    if not _enabled():
        return PasswordAttempt()
    digest = _email_digest(email)
    with cache_guard():
        generation = cache.get(_generation_key(digest), "0")
        base = f"{ACCOUNT_ATTEMPTS_PREFIX}{digest}:{generation}"
        if device is not None:
            scopes = [(f"{base}:device:{device}", settings.AUTH_LOGIN_FAILURES_PER_DEVICE)]
        else:
            scopes = [(f"{base}:account", settings.AUTH_LOGIN_FAILURES_PER_ACCOUNT)]
            if client_ip:
                scopes.insert(0, (f"{base}:ip:{client_ip}", settings.AUTH_LOGIN_FAILURES_PER_ACCOUNT_IP))
        keys: list[str] = []
        for key_base, rate in scopes:
            key, usage = _count(key_base, rate)
            keys.append(key)
            if usage.limited:
                _give_back(tuple(keys[:-1]))  # a refused check is no check: only the limit that refused keeps it
                headers = rate_limit_headers(usage, ACCOUNT_POLICY)
                raise RateLimited(
                    f"Too many failed password attempts for this account; retry in {usage.reset} seconds.",
                    headers=headers,
                )
    return PasswordAttempt(keys=tuple(keys))


def password_attempt_succeeded(attempt: PasswordAttempt) -> None:
    """The password was right: give the attempt back, so that only failures use up the allowance."""
    if not attempt.keys:
        return
    try:
        _give_back(attempt.keys)
    except CACHE_ERRORS:
        logger.warning("auth: could not give back a password attempt", exc_info=True)


def password_attempts_clear(*, email: str) -> None:
    """End every lockout of the account (a password reset): its counters start a new generation."""
    if not _enabled():
        return
    with cache_guard():
        cache.set(_generation_key(_email_digest(email)), uuid.uuid4().hex, timeout=2 * _longest_window() + 60)
