"""WebSocket routes of this app, composed into config/asgi.py."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
