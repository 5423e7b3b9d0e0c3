"""Pure-ASGI layers in front of the Django HTTP application (config/asgi.py composes them).

- `RequestGuard`: answers `/health/live` before Django, and refuses a request body over its route's
  limit (413) as soon as the declared Content-Length or the running count of a chunked body passes
  it, without reading the rest; a chunked body within the limit reaches Django with a Content-Length.
- `get_asgi_application()`: Django's ASGI handler with the sync half of requests on ASGI_SYNC_THREADS
  reused threads, and caches kept per thread (handler.py).
- `body_limit_for(path)`: the limit of a path (REQUEST_BODY_LIMITS' longest prefix, else
  API_MAX_BODY_BYTES), shared with the WSGI path (common.wsgi).
"""

from .guard import RequestGuard
from .handler import PooledThreadsASGIHandler, caches_per_thread, get_asgi_application
from .limits import body_limit_for, too_large_detail

__all__ = [
    "PooledThreadsASGIHandler",
    "RequestGuard",
    "body_limit_for",
    "caches_per_thread",
    "get_asgi_application",
    "too_large_detail",
]
