"""Helpers for the Webhook Tester tests: bins, and raw ASGI requests to the capture path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings

from webhook_tester import services
from webhook_tester.models import Bin


@dataclass
class AsgiResult:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    messages: list[dict[str, Any]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.decode("latin-1").lower() == name.lower():
                return value.decode("latin-1")
        return None

    def json(self) -> Any:
        import json

        return json.loads(self.body)


async def asgi_call(
    method: str,
    raw_path: bytes | str,
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
    client: tuple[str, int] = ("198.51.100.7", 40000),
    scheme: str = "http",
    app: Any = None,
) -> AsgiResult:
    """One HTTP request through the real ASGI application (config.asgi), the body in `chunks`."""
    if app is None:
        from config.asgi import application as app
    raw = raw_path.encode() if isinstance(raw_path, str) else raw_path
    from urllib.parse import unquote

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": unquote(raw.decode("latin-1")),
        "raw_path": raw,
        "query_string": query,
        "root_path": "",
        "headers": headers or [],
        "client": client,
        "server": ("testserver", 80),
    }
    pending = list(chunks or [b""])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return AsgiResult(start["status"], list(start.get("headers", [])), body, sent)


def capture(*args: Any, **kwargs: Any) -> AsgiResult:
    """`asgi_call` from sync tests."""
    return async_to_sync(asgi_call)(*args, **kwargs)


def hook(bin: Bin, sub_path: str = "") -> str:
    return f"/hooks/{bin.pk}{sub_path}"


@pytest.fixture
def make_bin(db):
    def make(owner: Any, **kwargs: Any) -> Bin:
        bin, _key = services.bin_create(owner=owner, **kwargs)
        return bin

    return make


@pytest.fixture
def bin(make_bin, user) -> Bin:
    return make_bin(user, name="test bin")


@pytest.fixture(autouse=True)
def _fresh_bin_cache():
    """Each test sees bins as they are in the database (the capture path caches them per process)."""
    services.bin_config_forget()
    yield
    services.bin_config_forget()


def services_mode() -> bool:
    return not settings.EMBEDDED_REDIS and not settings.EMBEDDED_DATABASE


@pytest.fixture
def live_asgi_url(transactional_db, settings):
    """The real ASGI application (capture path, Django, WebSockets) under uvicorn, in a thread of this
    process, so it shares the test database and the in-process layers. Yields its base URL.

    The HTTP side is built afresh with Django's static handler serving from the apps' static folders
    (no collectstatic needed); the WebSocket side is config.asgi's own.
    """
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from common.tests.servers import uvicorn_in_thread
    from config.asgi import application as platform
    from webhook_tester.capture import http_app_with_capture

    application = ProtocolTypeRouter(
        {
            "http": http_app_with_capture(ASGIStaticFilesHandler(get_asgi_application())),
            "websocket": platform.application_mapping["websocket"],
        }
    )

    with uvicorn_in_thread(application) as port:
        yield f"http://127.0.0.1:{port}"
