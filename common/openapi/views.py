"""Schema and documentation endpoints.

- `/openapi.json`: the combined OpenAPI 3 schema (JSON) of every API;
- `/api/v1/<api>/openapi.json`: one API's schema: only the paths under `/api/v1/<api>` and the
  components they use, with that API's tag;
- `/docs` (Swagger UI), `/redoc` (Redoc), `/stoplight` (Stoplight Elements) over the combined schema,
  every asset served from our static files, no inline script (the CSP allows scripts from 'self' only);
- `/`: a landing page linking the above, the admin and the health check.

Generating a schema walks every view and takes a while; with DEBUG off the result is kept in the
process, keyed by the URL conf, since the URL map does not change while the process runs.
"""

import threading
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.views.generic import TemplateView
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.settings import patched_settings, spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

API_PATH_PREFIX = "/api/v1/"

_schema_cache: dict[tuple[str, str], dict[str, Any]] = {}
# drf-spectacular keeps its settings (and the per-API patches) in one global object, so generation
# runs one at a time.
_generation_lock = threading.Lock()


def clear_schema_cache() -> None:
    """Forget every generated schema (tests that change the URL conf or the views call this)."""
    with _generation_lock:
        _schema_cache.clear()


class PathPrefixSchemaGenerator(SchemaGenerator):
    """Keeps only the endpoints whose path is `prefix` or lies under `prefix/`."""

    def __init__(self, *args: Any, path_prefix: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path_prefix = path_prefix.rstrip("/") if path_prefix else None

    def _initialise_endpoints(self) -> None:
        super()._initialise_endpoints()
        if self.path_prefix and self.endpoints is not None:
            prefix = self.path_prefix
            self.endpoints = [
                endpoint for endpoint in self.endpoints if endpoint[0] == prefix or endpoint[0].startswith(prefix + "/")
            ]


class SchemaView(SpectacularAPIView):
    """Serves an OpenAPI schema as JSON (`application/json`, or `application/vnd.oai.openapi+json` on request)."""

    renderer_classes = [OpenApiJsonRenderer2, OpenApiJsonRenderer]
    path_prefix: str | None = None
    cache_name = "combined"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(
            data=self.get_schema(request),
            headers={"Content-Disposition": f'inline; filename="{self.cache_name}-openapi.json"'},
        )

    def get_schema(self, request: Request) -> dict[str, Any]:
        key = (str(settings.ROOT_URLCONF), self.cache_name)
        use_cache = not settings.DEBUG
        if use_cache and key in _schema_cache:
            return _schema_cache[key]
        with _generation_lock:
            if use_cache and key in _schema_cache:
                return _schema_cache[key]
            with patched_settings(self.custom_settings):
                generator = PathPrefixSchemaGenerator(
                    urlconf=self.urlconf,
                    api_version=self.api_version,
                    patterns=self.patterns,
                    path_prefix=self.path_prefix,
                )
                schema: dict[str, Any] = generator.get_schema(request=request, public=self.serve_public)
            if use_cache:
                _schema_cache[key] = schema
            return schema


def api_custom_settings(api: str) -> dict[str, Any]:
    """The drf-spectacular settings one API's schema overrides: its title, description and tag."""
    tags = [tag for tag in spectacular_settings.TAGS if tag.get("name") == api]
    description = tags[0].get("description", "") if tags else ""
    return {
        "TITLE": f"{spectacular_settings.TITLE}: {api}",
        "DESCRIPTION": description or f"The `{API_PATH_PREFIX}{api}` API.",
        "TAGS": tags,
    }


def api_schema_urlpatterns(api_apps: dict[str, str]) -> list[URLPattern]:
    """`/api/v1/<api>/openapi.json` for each API (the keys of `api_apps`), named `openapi-<api>`."""
    return [
        path(
            f"api/v1/{api}/openapi.json",
            SchemaView.as_view(
                path_prefix=f"{API_PATH_PREFIX}{api}",
                cache_name=api,
                custom_settings=api_custom_settings(api),
            ),
            name=f"openapi-{api}",
        )
        for api in api_apps
    ]


class PageOptionsMixin:
    """OPTIONS on a docs page answers like Django's own views: 200, `Allow`, no body.

    DRF's OPTIONS renders view metadata with the page's renderer; the Swagger split view names its
    template only inside `get`, so OPTIONS /docs was a 500 (TemplateDoesNotExist).
    """

    allowed_methods: list[str]

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Any:  # Any: APIView and View type it apart
        return HttpResponse(headers={"Allow": ", ".join(self.allowed_methods), "Content-Length": "0"})


class SwaggerView(PageOptionsMixin, SpectacularSwaggerSplitView):
    pass


class RedocView(PageOptionsMixin, SpectacularRedocView):
    pass


class StoplightView(TemplateView):
    template_name = "docs/stoplight.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "title": spectacular_settings.TITLE,
            "schema_url": reverse("openapi"),
        }


class LandingView(TemplateView):
    template_name = "docs/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        apis = []
        for tag in spectacular_settings.TAGS:
            try:
                apis.append({**tag, "schema_url": reverse(f"openapi-{tag['name']}")})
            except NoReverseMatch:
                continue
        return {
            **super().get_context_data(**kwargs),
            "title": spectacular_settings.TITLE,
            "description": spectacular_settings.DESCRIPTION,
            "version": spectacular_settings.VERSION,
            "apis": apis,
        }


def docs_urlpatterns() -> list[URLPattern]:
    """The landing page, the combined schema and the three documentation pages."""
    return [
        path("", LandingView.as_view(), name="home"),
        path("openapi.json", SchemaView.as_view(), name="openapi"),
        # The split view serves its start-up code from `/docs?script=` instead of an inline script.
        path("docs", SwaggerView.as_view(url_name="openapi"), name="docs"),
        path("redoc", RedocView.as_view(url_name="openapi", template_name="docs/redoc.html"), name="redoc"),
        path("stoplight", StoplightView.as_view(), name="stoplight"),
    ]
