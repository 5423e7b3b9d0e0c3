"""Request rate limits for every `/api/` path, and helpers for apps that add their own limits.

The counters are django-ratelimit's fixed windows in the Django cache: Redis in services mode (one
atomic INCR per request, shared by every process) and the local-memory cache in embedded mode (one
process, so one correct counter).

Default policy: an anonymous request counts against its client IP (`RATE_LIMIT_ANON`, "100/15m"),
an authenticated one against its principal (`RATE_LIMIT_USER`, "1000/15m"). The principal comes from
the function named by `RATE_LIMIT_PRINCIPAL_RESOLVER` (`(request) -> str | None`). A view that
third parties call in bursts declares its own policy with `@rate_limit_policy(...)`.

A resolver may return a `Principal` (a str) naming a cache key whose presence means the credential
was revoked (a logged-out session): such a request counts as anonymous, by IP. The default policy
checks that key, counts the request and reads the cache keys the request will need next
(`Principal.fetch_keys`, e.g. the user row) in ONE cache round trip (a Lua script on Redis); what it
read is handed on through `prefetched(request, key)`, so authentication does not ask again.

Every limited response carries the IETF draft headers and their X- forms::

    RateLimit-Policy: "anon";q=100;w=900
    RateLimit: "anon";r=41;t=517
    X-RateLimit-Limit: 100
    X-RateLimit-Remaining: 41
    X-RateLimit-Reset: 517          (seconds until the window resets, not an epoch time)

and over the limit a 429 problem (`code: rate_limited`) with `Retry-After` in seconds.
"""

from .core import (
    KeySpec,
    Policy,
    Usage,
    check_rate,
    client_ip,
    rate_limit_headers,
    rate_limit_policy,
    rate_limited_error,
)
from .middleware import RateLimitMiddleware
from .principal import Principal, prefetched, request_principal
from .windows import fixed_window_hit, fixed_window_hits

__all__ = [
    "KeySpec",
    "Policy",
    "Principal",
    "RateLimitMiddleware",
    "Usage",
    "check_rate",
    "client_ip",
    "fixed_window_hit",
    "fixed_window_hits",
    "prefetched",
    "rate_limit_headers",
    "rate_limit_policy",
    "rate_limited_error",
    "request_principal",
]
