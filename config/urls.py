"""The one URL map: platform endpoints, the five APIs under /api/v1/<api>, docs and admin.

Each app's `urls.py` carries its own path segment (`auth/...`, `orders`, `files/...`, ...), so list
endpoints such as `GET /api/v1/orders` have no trailing slash.
"""

from django.contrib import admin
from django.urls import include, path

from common import health
from common.openapi.views import api_schema_urlpatterns, docs_urlpatterns

API_APPS = {
    "auth": "auth_app.urls",
    "orders": "orders.urls",
    "files": "file_processor.urls",
    "notifications": "notifications.urls",
    "bins": "webhook_tester.urls",
}

urlpatterns = [
    path("health", health.ready, name="health"),
    path("health/live", health.live, name="health-live"),
    *docs_urlpatterns(),
    *api_schema_urlpatterns(API_APPS),
    *[path("api/v1/", include(module)) for module in API_APPS.values()],
    path("accounts/", include("auth_app.browser_urls")),
    path("admin/", admin.site.urls),
]

handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
