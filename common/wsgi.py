"""`RequestGuardWSGI`: the WSGI twin of common.asgi.RequestGuard, for WSGI workers (config/wsgi.py).

A declared Content-Length over the route's limit (`common.asgi.body_limit_for`) is answered 413
problem+json before the body is read, with `Connection: close`. A body without a length (a chunked
request that the WSGI server passes through) is read here up to the limit: past it, the same 413;
within it, Django gets it with CONTENT_LENGTH set (Django reads no body without one). `GET`/`HEAD
/health/live` without an `Origin` is answered here, as on the ASGI path (the view is async, which
Django's WSGI handler runs on a new event loop in a new thread per request).

`get_wsgi_application()`: Django's WSGI handler, resolving each path once (common.middleware).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import django
from django.core.handlers.wsgi import WSGIHandler

from common.asgi.guard import LIVE_BODY, LIVE_PATH
from common.asgi.limits import body_limit_for, too_large_detail
from common.errors.problems import PROBLEM_CONTENT_TYPE, problem_body
from common.middleware import ResolvedOnceHandlerMixin, request_id_for

__all__ = ["PlatformWSGIHandler", "RequestGuardWSGI", "get_wsgi_application"]


class PlatformWSGIHandler(ResolvedOnceHandlerMixin, WSGIHandler):
    """Django's WSGI handler, resolving each path once."""


def get_wsgi_application() -> PlatformWSGIHandler:
    """`django.core.wsgi.get_wsgi_application`, with the platform's handler."""
    django.setup(set_prefix=False)
    return PlatformWSGIHandler()


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_READ_CHUNK = 64 * 1024


def _problem(start_response: Callable[..., Any], status: int, code: str, detail: str) -> list[bytes]:
    body = json.dumps(problem_body(status=status, code=code, detail=detail)).encode()
    reason = {400: "Bad Request", 413: "Content Too Large"}[status]
    start_response(
        f"{status} {reason}",
        [
            ("Content-Type", PROBLEM_CONTENT_TYPE),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
            ("Connection", "close"),
        ],
    )
    return [body]


def _live(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
            ("Content-Length", str(len(LIVE_BODY))),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Request-ID", request_id),
        ],
    )
    return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else LIVE_BODY]


class RequestGuardWSGI:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == LIVE_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD") and "HTTP_ORIGIN" not in environ:
            return _live(environ, start_response)
        limit = body_limit_for(path)
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return _problem(start_response, 400, "bad_request", "Content-Length is not a number.")
            if length > limit:
                return _problem(start_response, 413, "payload_too_large", too_large_detail(limit, length))
            return self.app(environ, start_response)
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.app(environ, start_response)
        stream, total, chunks = environ["wsgi.input"], 0, []
        while True:
            chunk = stream.read(_READ_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                return _problem(start_response, 413, "payload_too_large", too_large_detail(limit, None))
            chunks.append(chunk)
        environ["wsgi.input"] = io.BytesIO(b"".join(chunks))
        environ["CONTENT_LENGTH"] = str(total)
        return self.app(environ, start_response)
