"""System checks for platform settings that are dangerous together (run by `manage.py check` and at start-up)."""

import re
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

# An origin no deployment lists: a regex that matches it matches (nearly) every origin.
_PROBE_ORIGINS = ("https://cors-probe.invalid", "http://203.0.113.7:8123")


@register(Tags.security)
def check_cors_origins(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Credentials must never be shared with every origin: that lets any site act as the signed-in user."""
    allow_all = bool(getattr(settings, "CORS_ALLOW_ALL_ORIGINS", getattr(settings, "CORS_ORIGIN_ALLOW_ALL", False)))
    origins = list(getattr(settings, "CORS_ALLOWED_ORIGINS", getattr(settings, "CORS_ORIGIN_WHITELIST", ())))
    regexes = list(getattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES", ()))
    credentials = bool(getattr(settings, "CORS_ALLOW_CREDENTIALS", False))
    wildcard_regex = any(re.match(pattern, probe) for pattern in regexes for probe in _PROBE_ORIGINS)
    wide_open = allow_all or "*" in origins or wildcard_regex

    messages: list[CheckMessage] = []
    if wide_open and credentials:
        messages.append(
            Error(
                "CORS allows every origin together with credentials (cookies, Authorization).",
                hint="List the trusted origins in CORS_ALLOWED_ORIGINS, or set CORS_ALLOW_CREDENTIALS=false.",
                id="common.E001",
            )
        )
    elif wide_open:
        messages.append(
            Warning(
                "CORS allows every origin.",
                hint="List the trusted origins in CORS_ALLOWED_ORIGINS unless the API is meant to be public.",
                id="common.W001",
            )
        )
    if "*" in origins:
        messages.append(
            Error(
                "CORS_ALLOWED_ORIGINS contains '*', which django-cors-headers does not treat as a wildcard.",
                hint="List the origins explicitly (scheme://host[:port]).",
                id="common.E002",
            )
        )
    return messages
