"""Security scheme names shared by every API, and the scheme of Django's session cookie.

An app that brings its own authentication class registers its scheme itself (auth_app/schema.py does
for Bearer tokens and API keys), so common names no app. `match_subclasses` keeps a scheme when the
class is subclassed, and the priority beats drf-spectacular's built-in SimpleJWT and session
extensions. Imported at start-up by `common.apps.CommonConfig.ready()`.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

BEARER_SCHEME = "bearerAuth"
API_KEY_SCHEME = "apiKeyAuth"
SESSION_SCHEME = "cookieAuth"
API_KEY_HEADER = "X-API-Key"


class SessionCookieScheme(OpenApiAuthenticationExtension):
    target_class = "rest_framework.authentication.SessionAuthentication"
    name = SESSION_SCHEME
    match_subclasses = True
    priority = 10

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": (
                "The Django session cookie set by the admin login, for the browser pages. Unsafe methods "
                "also need the CSRF token in the `X-CSRFToken` header."
            ),
        }
