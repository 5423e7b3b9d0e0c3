"""Which body limit applies to a path."""

from __future__ import annotations

from django.conf import settings

__all__ = ["body_limit_for", "too_large_detail"]


def body_limit_for(path: str) -> int:
    """The largest request body (bytes) `path` accepts.

    The longest prefix of `path` in `settings.REQUEST_BODY_LIMITS` wins; without one it is
    `settings.API_MAX_BODY_BYTES`. Prefixes match whole path segments or more ("/api/v1/files/uploads"
    matches itself, "/api/v1/files/uploads/..." and "/api/v1/files/uploads-x" alike: write the prefix
    you mean, with a trailing "/" to stop at a segment).
    """
    best, limit = -1, int(settings.API_MAX_BODY_BYTES)
    for prefix, value in settings.REQUEST_BODY_LIMITS.items():
        if len(prefix) > best and path.startswith(prefix):
            best, limit = len(prefix), int(value)
    return limit


def too_large_detail(limit: int, length: int | None) -> str:
    """The `detail` of a 413: the declared length when there is one, else "more than the limit"."""
    if length is None:
        return f"The request body is more than {limit} bytes; the limit here is {limit} bytes."
    return f"The request body is {length} bytes; the limit here is {limit} bytes."
