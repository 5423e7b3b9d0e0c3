"""The Auth API's OpenAPI security schemes are registered by the app itself."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from auth_app.authentication import ApiKeyAuthentication, JWTAuthentication
from auth_app.schema import ApiKeyScheme, JWTBearerScheme
from common.openapi.extensions import SessionCookieScheme


def test_auth_extensions_target_import_strings_and_are_registered() -> None:
    # Loaded at start-up by AuthAppConfig.ready() (and the session scheme by CommonConfig.ready());
    # the targets stay strings until first matched.
    registered = set(OpenApiAuthenticationExtension._registry)
    assert {JWTBearerScheme, ApiKeyScheme, SessionCookieScheme} <= registered
    for authenticator, name in ((JWTAuthentication(), "bearerAuth"), (ApiKeyAuthentication(), "apiKeyAuth")):
        match = OpenApiAuthenticationExtension.get_match(authenticator)
        assert match is not None and match.name == name
