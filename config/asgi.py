"""One ASGI application: Django for HTTP (REST, SSE, admin), Channels for WebSocket."""

import gc
import os
from urllib.parse import ParseResult

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common.asgi import get_asgi_application  # noqa: E402

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from auth_app.ws import WebSocketAuthMiddleware  # noqa: E402
from common.static import static_files_asgi  # noqa: E402
from notifications.routing import websocket_urlpatterns as notification_routes  # noqa: E402
from webhook_tester.routing import websocket_urlpatterns as bin_routes  # noqa: E402


class BrowserOriginValidator(OriginValidator):
    """Refuses cross-site WebSocket handshakes from browsers; lets non-browser clients through.

    Browsers always send `Origin` on a WebSocket handshake, so a page on another site is refused
    here (cross-site WebSocket hijacking of the session cookie). A client with no `Origin` is not a
    browser and cannot carry a victim's cookie; it still has to authenticate with a token.
    """

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        return parsed_origin is None or self.validate_origin(parsed_origin)


allowed_origins = ["*"] if settings.DEBUG and not settings.ALLOWED_HOSTS else settings.ALLOWED_HOSTS

application = ProtocolTypeRouter(
    {
        # Static files are answered before Django's middleware chain (common/static.py).
        "http": static_files_asgi(django_asgi_app),
        "websocket": BrowserOriginValidator(
            WebSocketAuthMiddleware(URLRouter([*notification_routes, *bin_routes])), allowed_origins
        ),
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
