"""Routes of the orders API, mounted by config/urls.py under /api/v1/orders."""

from django.urls import URLPattern, URLResolver

app_name = "orders"

urlpatterns: list[URLPattern | URLResolver] = []
