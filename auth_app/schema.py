"""OpenAPI security schemes of the Auth API's authentication classes (drf-spectacular extensions).

The targets are import strings, resolved the first time drf-spectacular meets an authenticator.
Imported at start-up by `AuthAppConfig.ready()`.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from common.openapi.extensions import API_KEY_HEADER, API_KEY_SCHEME, BEARER_SCHEME


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
