"""Pure-ASGI layers in front of the Django HTTP application (config/asgi.py composes them).

- `RequestGuard`: answers `/health/live` before Django, and refuses a request body over its route's
  limit (413) as soon as the declared Content-Length or the running count of a chunked body passes
  it, without reading the rest; a chunked body within the limit reaches Django with a Content-Length.
- `body_limit_for(path)`: the limit of a path (REQUEST_BODY_LIMITS' longest prefix, else
  API_MAX_BODY_BYTES), shared with the WSGI path (common.wsgi).
"""

from .guard import RequestGuard
from .limits import body_limit_for, too_large_detail

__all__ = ["RequestGuard", "body_limit_for", "too_large_detail"]
