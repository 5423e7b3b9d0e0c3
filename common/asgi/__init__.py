"""Pure-ASGI layers in front of the Django HTTP application (config/asgi.py composes them).

- `RequestGuard`: answers `/health/live` before Django, and refuses a request body over its route's
  limit (413) as soon as the declared Content-Length or the running count of a chunked body passes
  it, without reading the rest; a chunked body within the limit reaches Django with a Content-Length
  (on a streamed route it passes through, counted by the streamed body).
- `get_asgi_application()`: Django's ASGI handler with the sync half of requests on ASGI_SYNC_THREADS
  reused threads, caches kept per thread, and the bodies of REQUEST_BODY_STREAMED routes read while
  the view reads them (handler.py, streaming.py).
- `body_limit_for(path)`: the limit of a path (REQUEST_BODY_LIMITS' longest prefix, else
  API_MAX_BODY_BYTES), shared with the WSGI path (common.wsgi); `body_streamed_for(path)` likewise
  from REQUEST_BODY_STREAMED.
- `streamed_body_parseable(request)`: for a view whose parsers need a Content-Length that a streamed
  chunked body does not have.
"""

from .guard import RequestGuard
from .handler import PooledThreadsASGIHandler, StreamingBodyASGIHandler, caches_per_thread, get_asgi_application
from .limits import body_limit_for, body_streamed_for, too_large_detail
from .streaming import StreamedBody, streamed_body_parseable

__all__ = [
    "PooledThreadsASGIHandler",
    "RequestGuard",
    "StreamedBody",
    "StreamingBodyASGIHandler",
    "body_limit_for",
    "body_streamed_for",
    "caches_per_thread",
    "get_asgi_application",
    "streamed_body_parseable",
    "too_large_detail",
]
