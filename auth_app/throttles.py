"""The Auth API's own abuse limits (django-ratelimit counters through `common.ratelimit`).

- login: AUTH_LOGIN_RATE_PER_IP attempts per client IP, and AUTH_LOGIN_FAILURES_PER_ACCOUNT
  *failed* attempts per account (keyed by the normalised email, whether or not it exists). Once an
  account has used up its failures, every login for it is 429 until the window ends, even with the
  right password.
- register, password reset, refresh: per client IP; reset also per target address.

All are switched by AUTH_RATE_LIMIT_ENABLED. A refusal is a 429 problem with `Retry-After` and the
RateLimit headers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest

from common.errors import RateLimited
from common.ratelimit import Usage, check_rate, rate_limit_headers, rate_limited_error

LOGIN_FAILURES_GROUP = "auth-login-failures"


def _enabled() -> bool:
    return bool(settings.AUTH_RATE_LIMIT_ENABLED)


def _email_key(email: str) -> Callable[[str, HttpRequest], str]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()

    def key(group: str, request: HttpRequest) -> str:
        return f"account:{digest}"

    return key


def throttle_ip(request: HttpRequest, *, policy: str, rate_setting: str) -> None:
    """Count this request against the client IP; 429 past the limit."""
    if not _enabled():
        return
    usage = check_rate(request, group=f"auth-{policy}", key="ip", rate=rate_setting)
    if usage.limited:
        raise rate_limited_error(usage, policy)


def throttle_email(request: HttpRequest, *, policy: str, rate_setting: str, email: str) -> None:
    """Count this request against a target address (hashed); 429 past the limit."""
    if not _enabled():
        return
    usage = check_rate(request, group=f"auth-{policy}", key=_email_key(email), rate=rate_setting)
    if usage.limited:
        raise rate_limited_error(usage, policy)


def login_lockout_check(request: HttpRequest, *, email: str) -> None:
    """429 when the account has used up its failed-login allowance in the current window."""
    if not _enabled():
        return
    usage = check_rate(
        request,
        group=LOGIN_FAILURES_GROUP,
        key=_email_key(email),
        rate="AUTH_LOGIN_FAILURES_PER_ACCOUNT",
        increment=False,
    )
    if usage.count >= usage.limit:
        headers = rate_limit_headers(usage, "login-account")
        headers["Retry-After"] = str(usage.reset)
        raise RateLimited(f"Too many failed logins for this account; retry in {usage.reset} seconds.", headers=headers)


def login_failure_record(request: HttpRequest, *, email: str) -> Usage | None:
    """Count one failed login against the account."""
    if not _enabled():
        return None
    return check_rate(
        request, group=LOGIN_FAILURES_GROUP, key=_email_key(email), rate="AUTH_LOGIN_FAILURES_PER_ACCOUNT"
    )
