"""Security schemes for the project's authentication classes.

The targets are import strings, so this module does not import auth_app: drf-spectacular resolves them
the first time it meets an authenticator. `match_subclasses` keeps the schemes when the classes are
subclassed, and the priority beats drf-spectacular's built-in SimpleJWT and session extensions.
Imported at start-up by `common.apps.CommonConfig.ready()`.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

BEARER_SCHEME = "bearerAuth"
API_KEY_SCHEME = "apiKeyAuth"
SESSION_SCHEME = "cookieAuth"
API_KEY_HEADER = "X-API-Key"


class JWTBearerScheme(OpenApiAuthenticationExtension):
    target_class = "auth_app.authentication.JWTAuthentication"
    name = BEARER_SCHEME
    match_subclasses = True
    priority = 10

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "An access token from `POST /api/v1/auth/login` (or `register`/`refresh`), sent as "
                "`Authorization: Bearer <access>`. Access tokens are short-lived; refresh them with "
                "`POST /api/v1/auth/refresh`."
            ),
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "auth_app.authentication.ApiKeyAuthentication"
    name = API_KEY_SCHEME
    match_subclasses = True
    priority = 10

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": API_KEY_HEADER,
            "description": f"A key created with `POST /api/v1/auth/api-keys`, sent as `{API_KEY_HEADER}: <key>`.",
        }


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
