"""Placeholder: replaced by the rate-limit work (issue 2)."""

from .middleware import HookMiddleware


class RateLimitMiddleware(HookMiddleware):
    pass
