"""`RequestGuardWSGI`: the WSGI twin of common.asgi.RequestGuard, for WSGI workers (config/wsgi.py).

A declared Content-Length over the route's limit (`common.asgi.body_limit_for`) is answered 413
problem+json before the body is read, with `Connection: close`. A body without a length (a chunked
request that the WSGI server passes through) is read here up to the limit: past it, the same 413;
within it, Django gets it with CONTENT_LENGTH set (Django reads no body without one). `/health/live`
stays Django's view under WSGI.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from common.asgi.limits import body_limit_for, too_large_detail
from common.errors.problems import PROBLEM_CONTENT_TYPE, problem_body

__all__ = ["RequestGuardWSGI"]

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


class RequestGuardWSGI:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        limit = body_limit_for(environ.get("PATH_INFO", ""))
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
