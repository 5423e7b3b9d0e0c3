"""Routes of the webhook_tester API, mounted by config/urls.py under /api/v1/bins."""

from django.urls import URLPattern, URLResolver

app_name = "webhook_tester"

urlpatterns: list[URLPattern | URLResolver] = []
