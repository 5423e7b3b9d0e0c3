"""common.asgi.RequestGuard in-process: body limits before Django, chunked bodies, /health/live.

The real-server behaviour (a socket client that is answered before it has sent its body) is in
test_serving_limits_server.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.asgi import RequestGuard, body_limit_for

from .asgi_driver import exchange, http_scope

pytestmark = pytest.mark.urls("common.tests.urls")

PING = "/api/v1/test/ping"


class Recorder:
    """An inner application that records whether it was called and reads the whole body."""

    def __init__(self) -> None:
        self.called = False
        self.scope: dict[str, Any] = {}
        self.body = b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called, self.scope = True, scope
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def django_app():
    from config.asgi import application

    return application


def _problem(result, status: int, code: str) -> dict[str, Any]:
    assert result.status == status, result.body
    assert result.headers["content-type"] == "application/problem+json"
    body = result.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith(code.replace("_", "-"))
    return body


# --- limits -------------------------------------------------------------------------------------


def test_the_longest_matching_prefix_sets_the_limit(settings):
    settings.API_MAX_BODY_BYTES = 100
    settings.REQUEST_BODY_LIMITS = {"/api/v1/files": 1_000, "/api/v1/files/uploads": 50_000}
    assert body_limit_for("/api/v1/auth/login") == 100
    assert body_limit_for("/api/v1/files/x") == 1_000
    assert body_limit_for("/api/v1/files/uploads/1/parts") == 50_000


async def test_an_oversize_content_length_is_413_before_anything_is_read(settings):
    settings.API_MAX_BODY_BYTES = 64
    inner = Recorder()
    scope = http_scope(PING, headers=[("content-type", "application/json"), ("content-length", "200000000")])

    result = await exchange(RequestGuard(inner), scope, [b"x" * 65_536] * 4)

    body = _problem(result, 413, "payload_too_large")
    assert body["detail"] == "The request body is 200000000 bytes; the limit here is 64 bytes."
    assert result.received == 0 and not inner.called
    assert result.headers["connection"] == "close"  # the server closes instead of draining the rest
    assert result.headers["x-request-id"]


async def test_a_route_with_its_own_limit_takes_a_larger_body(settings):
    settings.API_MAX_BODY_BYTES = 64
    settings.REQUEST_BODY_LIMITS = {"/api/v1/uploads": 1_000}
    inner = Recorder()
    scope = http_scope("/api/v1/uploads/1", headers=[("content-length", "500")])

    result = await exchange(RequestGuard(inner), scope, [b"x" * 500])

    assert result.status == 204 and inner.body == b"x" * 500


async def test_a_non_numeric_content_length_is_400(settings):
    result = await exchange(RequestGuard(Recorder()), http_scope(PING, headers=[("content-length", "lots")]))
    _problem(result, 400, "bad_request")


async def test_an_oversize_chunked_body_is_refused_once_the_count_passes_the_limit(settings):
    settings.API_MAX_BODY_BYTES = 1_000
    inner = Recorder()
    scope = http_scope(PING, headers=[("transfer-encoding", "chunked")])

    result = await exchange(RequestGuard(inner), scope, [b"x" * 400] * 100)

    body = _problem(result, 413, "payload_too_large")
    assert body["detail"] == "The request body is more than 1000 bytes; the limit here is 1000 bytes."
    assert result.messages == 3 and result.received == 1_200  # stopped at the chunk that passed the limit
    assert not inner.called and result.headers["connection"] == "close"


async def test_a_chunked_body_at_the_limit_reaches_the_app_with_a_content_length(settings):
    settings.API_MAX_BODY_BYTES = 1_000
    inner = Recorder()
    scope = http_scope(PING, headers=[("transfer-encoding", "chunked"), ("content-type", "text/plain")])

    result = await exchange(RequestGuard(inner), scope, [b"a" * 400, b"b" * 400, b"c" * 200])

    assert result.status == 204
    assert inner.body == b"a" * 400 + b"b" * 400 + b"c" * 200
    headers = dict(inner.scope["headers"])
    assert headers[b"content-length"] == b"1000" and b"transfer-encoding" not in headers


async def test_a_large_chunked_body_within_a_route_limit_is_replayed_whole(settings):
    settings.REQUEST_BODY_LIMITS = {"/up": 3_000_000}
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100_000  # spooled to a temporary file past this
    inner = Recorder()
    chunks = [bytes([n % 251]) * 70_001 for n in range(40)]

    result = await exchange(RequestGuard(inner), http_scope("/up", headers=[("transfer-encoding", "chunked")]), chunks)

    assert result.status == 204 and inner.body == b"".join(chunks)


async def test_a_client_gone_mid_body_is_not_answered(settings):
    inner = Recorder()
    sent: list[Any] = []
    messages = iter([{"type": "http.request", "body": b"x", "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    await RequestGuard(inner)(http_scope(PING, headers=[("transfer-encoding", "chunked")]), receive, send)
    assert sent == [] and not inner.called


@pytest.mark.django_db
async def test_a_chunked_json_body_is_parsed_by_drf(django_app, settings):
    scope = http_scope(PING, headers=[("transfer-encoding", "chunked"), ("content-type", "application/json")])
    document = json.dumps({"title": "hello", "items": list(range(50))}).encode()

    result = await exchange(django_app, scope, [document[:10], document[10:40], document[40:]])

    assert result.status == 200, result.body
    assert result.json() == {"received": {"title": "hello", "items": list(range(50))}}


@pytest.mark.django_db
async def test_an_oversize_body_through_the_whole_application_is_the_same_problem(django_app, settings):
    settings.API_MAX_BODY_BYTES = 64
    scope = http_scope(PING, headers=[("content-type", "application/json"), ("content-length", "100")])

    result = await exchange(django_app, scope, [b"{" + b" " * 98 + b"}"])

    _problem(result, 413, "payload_too_large")
    assert result.received == 0


# --- /health/live ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_live_is_answered_before_django(method):
    inner = Recorder()

    result = await exchange(RequestGuard(inner), http_scope("/health/live", method=method))

    assert not inner.called and result.status == 200
    assert result.headers["content-type"] == "application/json"
    assert result.headers["cache-control"] == "no-store"
    assert result.body == (b'{"status": "ok"}' if method == "GET" else b"")
    assert result.headers["content-length"] == "16"


@pytest.mark.parametrize(
    ("method", "headers"),
    [("POST", []), ("OPTIONS", []), ("GET", [("origin", "https://app.example")])],
)
async def test_live_leaves_other_methods_and_browsers_to_the_view(method, headers):
    inner = Recorder()
    await exchange(RequestGuard(inner), http_scope("/health/live", method=method, headers=headers))
    assert inner.called


async def test_live_through_the_application_matches_the_view(django_app, async_client):
    guarded = await exchange(django_app, http_scope("/health/live", method="GET"))
    view = await async_client.get("/health/live", headers={"Origin": "https://app.example"})  # reaches the view

    assert guarded.json() == view.json() == {"status": "ok"}
    assert guarded.headers["cache-control"] == view["Cache-Control"]


async def test_websocket_scopes_pass_through():
    inner = Recorder()
    called: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope["type"])

    await RequestGuard(app)({"type": "websocket", "path": "/ws"}, None, None)  # type: ignore[arg-type]
    assert called == ["websocket"] and not inner.called
