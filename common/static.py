"""Static files served in front of Django, never through its middleware chain.

WhiteNoise's middleware is sync-only: under ASGI Django adapted the whole chain around it with two
thread hops on every request, static or not (docs/benchmarks.md). Here the server's application is
wrapped instead, so a request under STATIC_URL is answered from the file index built at start-up
and every other request goes to Django untouched:

- ASGI (`config/asgi.py`): servestatic's `ServeStaticASGI` (WhiteNoise's ASGI fork) over STATIC_ROOT,
  which `collectstatic` fills (with `.gz`/`.br` variants it serves to clients that accept them).
- WSGI (`config/wsgi.py`): servestatic's WSGI `ServeStatic`, the same rules.
- DEBUG: Django's own static handler, which reads the apps' static folders (no collectstatic).

Static responses carry the headers Django's SecurityMiddleware would have added (`nosniff`, the
referrer policy) and the CORS allowance WhiteNoise gave them (`Access-Control-Allow-Origin: *`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def _security_headers(headers: Any, path: str, url: str) -> None:
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers["X-Content-Type-Options"] = "nosniff"
    if settings.SECURE_REFERRER_POLICY:
        headers["Referrer-Policy"] = settings.SECURE_REFERRER_POLICY


def _options() -> dict[str, Any]:
    return {
        "root": settings.STATIC_ROOT if settings.STATIC_ROOT and settings.STATIC_ROOT.is_dir() else None,
        "prefix": settings.STATIC_URL,
        "max_age": 0 if settings.DEBUG else settings.STATIC_MAX_AGE,
        "add_headers_function": _security_headers,
    }


def static_files_asgi(application: Any) -> Any:
    """`application` with STATIC_URL answered before it (ASGI)."""
    if settings.DEBUG:
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        return ASGIStaticFilesHandler(application)
    from servestatic import ServeStaticASGI

    return ServeStaticASGI(application, **_options())


def static_files_wsgi(application: Any) -> Any:
    """`application` with STATIC_URL answered before it (WSGI)."""
    if settings.DEBUG:
        from django.contrib.staticfiles.handlers import StaticFilesHandler

        return StaticFilesHandler(application)
    from servestatic import ServeStatic

    return ServeStatic(application, **_options())
