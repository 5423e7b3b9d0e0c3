"""WebSocket routes of this app, composed into config/asgi.py."""

from django.urls import URLPattern, re_path

from .consumers import BinConsumer

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^ws/bins/(?P<bin_id>[^/]+)$", BinConsumer.as_asgi()),
]
