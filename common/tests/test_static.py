"""Static files are answered in front of Django (common/static.py): never through the middleware chain."""

import gzip

import pytest

from common.static import static_files_asgi, static_files_wsgi

from .asgi_support import asgi_get


@pytest.fixture
def static_root(settings, tmp_path):
    root = tmp_path / "static"
    (root / "app").mkdir(parents=True)
    (root / "app" / "site.css").write_text("body { color: red }\n" * 50)
    (root / "app" / "site.css.gz").write_bytes(gzip.compress(b"body { color: red }\n" * 50))
    settings.STATIC_ROOT = root
    settings.STATIC_URL = "/static/"
    settings.DEBUG = False
    return root


async def _downstream(scope, receive, send):
    """Stands for Django: answers 418 so a request that reached it is obvious."""
    await send({"type": "http.response.start", "status": 418, "headers": [(b"x-from", b"django")]})
    await send({"type": "http.response.body", "body": b"django"})


_get = asgi_get


async def test_asgi_serves_a_static_file_without_django(static_root):
    app = static_files_asgi(_downstream)
    status, headers, body = await _get(app, "/static/app/site.css")
    assert status == 200
    assert body.startswith(b"body { color: red }")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["access-control-allow-origin"] == "*"
    assert "max-age=60" in headers["cache-control"]
    assert "x-from" not in headers


async def test_asgi_serves_the_compressed_variant_to_clients_that_accept_it(static_root):
    status, headers, body = await _get(
        static_files_asgi(_downstream), "/static/app/site.css", [(b"accept-encoding", b"gzip")]
    )
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).startswith(b"body { color: red }")


async def test_asgi_passes_everything_else_to_django(static_root):
    app = static_files_asgi(_downstream)
    assert (await _get(app, "/api/v1/anything"))[0] == 418
    assert (await _get(app, "/static/app/missing.css"))[0] == 418


def test_wsgi_serves_a_static_file_without_django(static_root):
    seen = []

    def downstream(environ, start_response):
        seen.append(environ["PATH_INFO"])
        start_response("418 I'm a teapot", [])
        return [b"django"]

    app = static_files_wsgi(downstream)
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/static/app/site.css",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "testserver",
    }
    body = b"".join(app(environ, start_response))
    assert captured["status"].startswith("200") and body.startswith(b"body {")
    assert captured["headers"]["X-Content-Type-Options"] == "nosniff"
    assert seen == []
    b"".join(app({**environ, "PATH_INFO": "/health/live"}, start_response))
    assert seen == ["/health/live"]


def test_the_project_entry_points_wrap_django():
    from servestatic import ServeStatic, ServeStaticASGI

    from config import asgi, wsgi

    # Behind the webhook capture app (ASGI only) and the body-limit guard (common.asgi / common.wsgi),
    # in front of Django.
    assert isinstance(wsgi.application.app, ServeStatic)
    guard = asgi.application.application_mapping["http"].app
    assert isinstance(guard.app, ServeStaticASGI)
