"""Per-route body rules: which limit applies to a path, and whether its body is streamed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.conf import settings

__all__ = ["body_headers", "body_limit_for", "body_streamed_for", "too_large_detail"]

T = TypeVar("T")


def _longest_prefix(table: Mapping[str, T], path: str, default: T) -> T:
    """The value of the longest key of `table` that `path` starts with, else `default`.

    Prefixes match whole path segments or more ("/api/v1/files/uploads" matches itself,
    "/api/v1/files/uploads/..." and "/api/v1/files/uploads-x" alike: write the prefix you mean, with a
    trailing "/" to stop at a segment).
    """
    best, value = -1, default
    for prefix, candidate in table.items():
        if len(prefix) > best and path.startswith(prefix):
            best, value = len(prefix), candidate
    return value


def body_limit_for(path: str) -> int:
    """The largest request body (bytes) `path` accepts.

    The longest prefix of `path` in `settings.REQUEST_BODY_LIMITS` wins; without one it is
    `settings.API_MAX_BODY_BYTES`.
    """
    return int(_longest_prefix(settings.REQUEST_BODY_LIMITS, path, settings.API_MAX_BODY_BYTES))


def body_streamed_for(path: str) -> bool:
    """Whether the body of a request to `path` reaches the view as it arrives (ASGI; common/asgi/streaming.py).

    The longest prefix of `path` in `settings.REQUEST_BODY_STREAMED` wins (True streams, False excludes
    a longer prefix); without one the body is read whole before the view runs, as Django does.
    """
    return bool(_longest_prefix(settings.REQUEST_BODY_STREAMED, path, False))


def body_headers(scope: Mapping[str, Any]) -> tuple[bytes | None, bool, bool]:
    """(the Content-Length value, whether a body may follow without one, whether an Origin was sent)."""
    length: bytes | None = None
    unframed = False
    origin = False
    for key, value in scope.get("headers") or ():
        if key == b"content-length":
            length = value
        elif key == b"transfer-encoding":
            unframed = True
        elif key == b"origin":
            origin = True
    if length is None and not str(scope.get("http_version", "1.1")).startswith("1"):
        unframed = True  # HTTP/2 and 3 frame bodies without either header
    return length, unframed, origin


def too_large_detail(limit: int, length: int | None) -> str:
    """The `detail` of a 413: the declared length when there is one, else "more than the limit"."""
    if length is None:
        return f"The request body is more than {limit} bytes; the limit here is {limit} bytes."
    return f"The request body is {length} bytes; the limit here is {limit} bytes."
