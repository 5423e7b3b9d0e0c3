"""Placeholder: replaced by the OpenAPI work (issue 2)."""

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


def docs_urlpatterns() -> list[URLPattern]:
    return [
        path("openapi.json", SpectacularAPIView.as_view(), name="openapi"),
        path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
        path("redoc", SpectacularRedocView.as_view(url_name="openapi"), name="redoc"),
    ]


def api_schema_urlpatterns(api_apps: dict[str, str]) -> list[URLPattern]:
    return []
