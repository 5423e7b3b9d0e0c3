"""System checks: refuse to start with token settings that would weaken the Auth API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

MIN_SIGNING_KEY_BYTES = 32


@register(Tags.security)
def check_token_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if settings.JWT_ALGORITHM != "HS256":
        messages.append(
            Error("JWT_ALGORITHM must be HS256 (the only algorithm the decoder accepts).", id="auth_app.E001")
        )
    if not settings.JWT_ISSUER or not settings.JWT_AUDIENCE:
        messages.append(Error("JWT_ISSUER and JWT_AUDIENCE must not be empty.", id="auth_app.E002"))
    if "rest_framework_simplejwt.token_blacklist" in settings.INSTALLED_APPS:
        messages.append(
            Error(
                "rest_framework_simplejwt.token_blacklist is installed; auth_app's session table replaces it.",
                id="auth_app.E003",
            )
        )
    if len(settings.JWT_SIGNING_KEY.encode()) < MIN_SIGNING_KEY_BYTES:
        messages.append(
            Warning(
                f"JWT_SIGNING_KEY (or SECRET_KEY) is shorter than {MIN_SIGNING_KEY_BYTES} bytes; HS256 wants more.",
                id="auth_app.W001",
            )
        )
    if settings.JWT_REFRESH_REUSE_GRACE >= settings.JWT_ACCESS_TTL:
        messages.append(
            Warning(
                "JWT_REFRESH_REUSE_GRACE_SECONDS should be a few seconds, far below the access TTL.", id="auth_app.W002"
            )
        )
    return messages
