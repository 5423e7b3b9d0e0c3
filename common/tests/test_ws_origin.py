"""Issue 9 item 5: the WebSocket Origin check compares scheme, host and port, like Django's CSRF check."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from common.ws_origin import websocket_origin_allowed


def scope(origin: str | None, host: str | None = "localhost:8000", scheme: str = "ws", **extra: str) -> dict:
    headers = [(b"host", host.encode())] if host is not None else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers += [(name.encode(), value.encode()) for name, value in extra.items()]
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "allowed"),
    [
        ("http://localhost:8000", "localhost:8000", "ws", True),
        ("http://LOCALHOST:8000", "localhost:8000", "ws", True),
        ("http://localhost:5173", "localhost:8000", "ws", False),  # another local app: another origin
        ("http://localhost", "localhost:8000", "ws", False),
        ("https://localhost:8000", "localhost:8000", "ws", False),  # scheme differs
        ("http://localhost:8000", "localhost:8000", "wss", False),
        ("https://localhost:8000", "localhost:8000", "wss", True),
        ("https://localhost", "localhost", "wss", True),  # default ports
        ("https://localhost:443", "localhost", "wss", True),
        ("http://127.0.0.1:8000", "localhost:8000", "ws", False),  # another host
        ("http://evil.example:8000", "evil.example:8000", "ws", False),  # Host not in ALLOWED_HOSTS
        ("null", "localhost:8000", "ws", False),
        ("not a url", "localhost:8000", "ws", False),
        ("http://localhost:8000", None, "ws", False),  # no Host: the request's own origin is unknown
        (None, "localhost:8000", "ws", True),  # not a browser: token authentication decides
    ],
)
def test_own_origin_rule(settings, origin, host, scheme, allowed):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "evil.example.org"]
    assert websocket_origin_allowed(scope(origin, host, scheme)) is allowed


def test_the_scheme_honours_the_https_proxy_header(settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    behind_proxy = {"x-forwarded-proto": "https"}
    assert websocket_origin_allowed(scope("https://api.example.com", "api.example.com", **behind_proxy))
    assert not websocket_origin_allowed(scope("http://api.example.com", "api.example.com", **behind_proxy))
    settings.SECURE_PROXY_SSL_HEADER = None  # without the setting the header is not believed
    assert not websocket_origin_allowed(scope("https://api.example.com", "api.example.com", **behind_proxy))


def test_trusted_origins_from_csrf_and_cors_settings(settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.org", "https://admin.example.net:8443"]
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]
    host = "api.example.com"
    assert websocket_origin_allowed(scope("https://app.example.org", host))
    assert not websocket_origin_allowed(scope("https://example.org.evil.com", host))
    assert not websocket_origin_allowed(scope("http://app.example.org", host))
    assert websocket_origin_allowed(scope("https://admin.example.net:8443", host))
    assert not websocket_origin_allowed(scope("https://admin.example.net", host))
    assert websocket_origin_allowed(scope("http://localhost:5173", host))
    assert not websocket_origin_allowed(scope("http://localhost:5174", host))


def test_two_origin_headers_are_refused(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    both = scope("http://localhost:8000", "localhost:8000")
    both["headers"].append((b"origin", b"http://localhost:8000"))
    assert not websocket_origin_allowed(both)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("origin", "accepted"), [("http://localhost:5173", False), ("http://localhost:8000", True)])
async def test_the_asgi_application_refuses_a_foreign_port_with_the_session_cookie(settings, origin, accepted):
    from config.asgi import application

    settings.ALLOWED_HOSTS = ["localhost"]
    headers = [(b"host", b"localhost:8000"), (b"origin", origin.encode()), (b"cookie", b"sessionid=whatever")]
    communicator = WebsocketCommunicator(application, "/ws/notifications", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    assert connected is accepted, code
    await communicator.disconnect()
