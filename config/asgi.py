"""One ASGI application: Django for HTTP (REST, SSE, admin), Channels for WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from auth_app.ws import WebSocketAuthMiddleware  # noqa: E402
from notifications.routing import websocket_urlpatterns as notification_routes  # noqa: E402
from webhook_tester.routing import websocket_urlpatterns as bin_routes  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            WebSocketAuthMiddleware(URLRouter([*notification_routes, *bin_routes]))
        ),
    }
)
