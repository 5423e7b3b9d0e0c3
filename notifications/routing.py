"""WebSocket routes of this app, composed into config/asgi.py."""

from django.urls import URLPattern, re_path

from .consumers import NotificationConsumer

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^ws/notifications$", NotificationConsumer.as_asgi()),
]
