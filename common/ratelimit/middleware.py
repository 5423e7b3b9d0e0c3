"""The API rate limit: every `/api/` request is counted (known path or not); 429 past the limit."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from redis.exceptions import RedisError

from ..errors import problem_response
from ..middleware import HookMiddleware
from . import counting
from .core import Policy, Usage, _view_policy, check_rate, rate_limit_headers

logger = logging.getLogger(__name__)


class RateLimitMiddleware(HookMiddleware):
    """Counts every `/api/` request when RATE_LIMIT_ENABLED; 429 past the limit.

    Under ASGI the count (with the revocation check and the prefetch) awaits Redis's asyncio client,
    so the event loop is never blocked on the round trip.
    """

    def before(self, request: HttpRequest) -> HttpResponseBase | None:
        if not self._applies(request):
            return None
        policy = _view_policy(request)
        try:
            plan = counting.plan_for(request, policy)
            if plan is not None:
                usage, name = counting.count(request, plan)
            else:
                assert policy is not None  # noqa: S101 - plan_for only declines view policies
                usage, name = (
                    check_rate(request, group=f"api:{policy.name}", key=policy.key, rate=policy.rate),
                    policy.name,
                )
        except (RedisError, OSError):
            return self._failed_open()
        return self._decide(request, usage, name)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        early = await self._abefore(request) if self._applies(request) else None
        return self.after(request, early if early is not None else await self.get_response(request))

    async def _abefore(self, request: HttpRequest) -> HttpResponseBase | None:
        policy = _view_policy(request)
        try:
            plan = counting.plan_for(request, policy)
            if plan is None:
                return self.before(request)  # a key only django-ratelimit understands: its sync path
            usage, name = await counting.acount(request, plan)
        except (RedisError, OSError):
            return self._failed_open()
        return self._decide(request, usage, name)

    @staticmethod
    def _applies(request: HttpRequest) -> bool:
        return bool(settings.RATE_LIMIT_ENABLED) and request.path_info.startswith("/api/")

    @staticmethod
    def _failed_open() -> None:
        # Fail open: a cache outage must not take the API down; /health reports the cache.
        logger.warning("rate-limit cache unavailable; request not counted", exc_info=True)
        return

    @staticmethod
    def _decide(request: HttpRequest, usage: Usage, name: str) -> HttpResponseBase | None:
        request._rate_limit = (usage, name)  # type: ignore[attr-defined]
        if usage.limited:
            return problem_response(
                status=429,
                code="rate_limited",
                detail=f"Too many requests; retry in {usage.reset} seconds.",
                headers=rate_limit_headers(usage, name),
            )
        return None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        state = getattr(request, "_rate_limit", None)
        if state is not None:
            usage, name = state
            for header, value in rate_limit_headers(usage, name).items():
                if header not in response:
                    response[header] = value
        return response


__all__ = ["Policy", "RateLimitMiddleware"]
