"""Routes of the file_processor API, mounted by config/urls.py under /api/v1/files."""

from django.urls import URLPattern, URLResolver

app_name = "file_processor"

urlpatterns: list[URLPattern | URLResolver] = []
