"""Routes of the notifications API, mounted by config/urls.py under /api/v1/notifications."""

from django.urls import URLPattern, URLResolver

app_name = "notifications"

urlpatterns: list[URLPattern | URLResolver] = []
