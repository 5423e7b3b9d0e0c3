"""One ASGI application: Django for HTTP (REST, SSE, admin), Channels for WebSocket."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from common.asgi import get_asgi_application  # noqa: E402

if any(database.get("CONN_MAX_AGE") for database in settings.DATABASES.values()):
    # Django's ASGI handler runs views on a pool of threads and closes connections per request, not per
    # thread: a kept connection would be held by a thread that may never serve a request again.
    raise ImproperlyConfigured("DB_CONN_MAX_AGE must be 0 under ASGI (it is for the WSGI `rest` role only).")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from auth_app.ws import WebSocketAuthMiddleware  # noqa: E402
from common.asgi import RequestGuard  # noqa: E402
from common.static import static_files_asgi  # noqa: E402
from common.ws_origin import BrowserOriginValidator  # noqa: E402
from notifications.routing import websocket_urlpatterns as notification_routes  # noqa: E402
from webhook_tester.capture import http_app_with_capture  # noqa: E402
from webhook_tester.routing import websocket_urlpatterns as bin_routes  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Webhook captures (/hooks/...) first: a pure ASGI app that reads and limits the body itself and
        # must see the headers exactly as sent. Then liveness and body limits before Django (an oversize
        # body is refused before it is read), and static files before Django's middleware chain.
        "http": http_app_with_capture(RequestGuard(static_files_asgi(django_asgi_app))),
        # Browser handshakes must come from our own origin (scheme, host, port) or a trusted one.
        "websocket": BrowserOriginValidator(WebSocketAuthMiddleware(URLRouter([*notification_routes, *bin_routes]))),
    }
)

# Garbage-collector pauses stall every socket of the process at once. Measured with 1,000 open
# WebSockets receiving 1,000 notifications/s (docs/benchmarks.md): with CPython's default thresholds
# (700, 10, 10) young collections paused the event loop 20-50 ms about once a second and full ones
# ~270 ms, the worst second's p99 was 300-400 ms. Everything built so far (settings, apps, URL
# resolvers, model metadata) lives as long as the process, so it is frozen out of full passes, and
# collections run less often; after that no pause over 20 ms was logged in the same run.
# Off in the test suite, which imports this module midway (ASGI_GC_TUNING).
if settings.ASGI_GC_TUNING:
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)
