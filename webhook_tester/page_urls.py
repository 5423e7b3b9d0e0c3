"""The inspector page, mounted at the site root by config/urls.py (outside /api/v1)."""

from django.urls import URLPattern, path

from .views.pages import bin_inspector

urlpatterns: list[URLPattern] = [
    path("bins/<str:bin_id>", bin_inspector, name="bin-inspector"),
]
