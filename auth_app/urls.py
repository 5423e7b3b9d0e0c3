"""Routes of the Auth API, mounted by config/urls.py under /api/v1/auth."""

from django.urls import URLPattern, URLResolver

app_name = "auth_app"

urlpatterns: list[URLPattern | URLResolver] = []
