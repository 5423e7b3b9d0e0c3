"""Refusals on a real uvicorn process: oversize bodies, oversize frames, a dead database, a dead Redis.

Each test starts its own server (common/tests/servers.py) with the Makefile's flags. A dead backend is
a closed port, or a TCP forwarder in this process that is not listening yet: starting it later shows
the server recovers without a restart. The shared PostgreSQL and Redis are never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.error import HTTPError

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .rawhttp import body_chunks, request_head, send_until_answered
from .servers import CLOSED, TEST_SECRET_KEY, free_port, rest_tier_server, running_server

USING_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
USING_REDIS = bool(os.environ.get("REDIS_URL"))
BODY = 200 * 1024 * 1024  # what the client would send
LIMIT = 1024 * 1024  # API_MAX_BODY_BYTES's default
# Loopback TCP buffers (the server's receive buffer grows to net.ipv4.tcp_rmem's maximum, a few MB) plus
# what uvicorn reads ahead (64 KiB) and the limit itself: a client sends at most about this much
# before the refusal reaches it, out of 200 MB.
SENT_AT_MOST = LIMIT + 16 * 1024 * 1024
WAIT = 20.0


@pytest.fixture(autouse=True)
def _jwt_key(settings):
    """Tokens minted here must verify in the server, which runs with TEST_SECRET_KEY."""
    settings.JWT_SIGNING_KEY = TEST_SECRET_KEY


def _access_token(user_id: Any) -> str:
    from auth_app.tokens import new_jti, token_encode

    token, _ = token_encode(
        user_id=str(user_id), sid=uuid.uuid4().hex, jti=new_jti(), token_type="access", lifetime=timedelta(minutes=5)
    )
    return token


# --- bodies -------------------------------------------------------------------------------------------


def _send(base: str, path: str, *, chunked: bool) -> tuple[int, dict[bytes, bytes], dict[str, Any], int]:
    port = int(base.rsplit(":", 1)[1])
    head = request_head(path, size=BODY, chunked=chunked)
    answer = send_until_answered(port, head, body_chunks(BODY, chunked=chunked), wait=WAIT)
    assert answer.complete, f"no complete response after sending {answer.sent} bytes: {answer.received[:300]!r}"
    return answer.status, answer.headers, json.loads(answer.payload), answer.sent


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory) -> Iterator[str]:
    """A server that touches no backend on the refused paths (embedded mode, empty SQLite)."""
    database = tmp_path_factory.mktemp("db") / "db.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": None, "WS_MAX_MESSAGE_BYTES": "1024"}
    with running_server(env) as base:
        yield base


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/health/live"])
def test_a_200_mb_content_length_is_refused_before_the_body_is_read(embedded_server, path):
    status, headers, problem, sent = _send(embedded_server, path, chunked=False)

    assert status == 413 and problem["code"] == "payload_too_large"
    assert headers[b"connection"] == b"close"
    assert sent < SENT_AT_MOST


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/health/live"])
def test_a_200_mb_chunked_body_is_refused_once_it_passes_the_limit(embedded_server, path):
    status, _headers, problem, sent = _send(embedded_server, path, chunked=True)

    assert status == 413 and problem["code"] == "payload_too_large"
    assert LIMIT < sent < SENT_AT_MOST  # it had to send past the limit, and was stopped soon after


@pytest.mark.parametrize("chunked", [False, True])
def test_an_unauthenticated_upload_within_the_limit_is_answered_before_its_body(embedded_server, chunked):
    """The upload route streams its body (REQUEST_BODY_STREAMED): a 401 comes before the body is read, and the
    connection is closed rather than drained of the rest."""
    size = 90 * 1024 * 1024  # under the route's limit (FILES_MAX_UPLOAD_BYTES 100 MiB): the guard lets it in
    port = int(embedded_server.rsplit(":", 1)[1])
    head = request_head("/api/v1/files/uploads", size=size, chunked=chunked)

    answer = send_until_answered(port, head, body_chunks(size, chunked=chunked), wait=WAIT)

    assert answer.complete and answer.status == 401
    assert json.loads(answer.payload)["code"] == "not_authenticated"
    assert answer.headers[b"connection"] == b"close"
    assert answer.sent < SENT_AT_MOST


def test_the_liveness_probe_is_answered_by_the_guard(embedded_server):
    with urllib.request.urlopen(embedded_server + "/health/live", timeout=WAIT) as response:  # noqa: S310
        assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}


async def test_a_websocket_frame_over_the_server_limit_closes_1009_before_auth(embedded_server):
    uri = embedded_server.replace("http", "ws") + "/ws/notifications"
    async with connect(uri, open_timeout=WAIT, max_size=None) as client:
        await client.send("{" + " " * 4000 + "}")  # WS_MAX_MESSAGE_BYTES is 1024 on this server
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(client.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


# --- dead and recovering backends --------------------------------------------------------------------


class Forwarder:
    """A TCP forwarder from 127.0.0.1:<port> to `target`; the port refuses connections until `start()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.listener is not None
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        for sock in [self.listener, *self.sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept() or recv()
                with contextlib.suppress(OSError):
                    sock.close()
        self.sockets = []


def _post_json(base: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    return _open(request)


def _open(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:  # noqa: S310
            return response.status, response
    except HTTPError as error:
        return error.code, error


def _assert_unavailable(status: int, response: Any) -> None:
    assert status == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.read())["code"] == "service_unavailable"


def _database_url(port: int | None = None) -> str:
    from django.db import connection

    info = connection.settings_dict
    host_port = f"127.0.0.1:{port}" if port else f"{info['HOST'] or '127.0.0.1'}:{info['PORT'] or 5432}"
    return f"postgres://{info['USER']}@{host_port}/{info['NAME']}"


def test_a_dead_database_is_a_fast_503_on_drf_and_plain_django_views():
    env = {
        "DATABASE_URL": f"postgres://postgres@{CLOSED}/unreachable",
        "REDIS_URL": None,
        "DB_POOL_TIMEOUT": "1",
        "DB_CONNECT_TIMEOUT": "1",
    }
    with running_server(env) as base:
        status, response = _post_json(base, "/api/v1/auth/login", {"email": "a@example.com", "password": "x" * 12})
        _assert_unavailable(status, response)

        # A plain async Django view (the SSE endpoint): the user lookup fails, 503 before streaming.
        sse = urllib.request.Request(  # noqa: S310
            base + "/api/v1/notifications/events", headers={"Authorization": f"Bearer {_access_token(uuid.uuid4())}"}
        )
        _assert_unavailable(*_open(sse))


@pytest.mark.skipif(not USING_POSTGRES, reason="recovery needs the real PostgreSQL behind the forwarder")
@pytest.mark.django_db(transaction=True)
def test_the_database_coming_back_is_used_without_a_restart(real_password_hashers, user, password):

    forwarder = _forwarder_to_the_database()
    env = {"DATABASE_URL": _database_url(forwarder.port), "REDIS_URL": None, "DB_POOL_TIMEOUT": "1"}
    try:
        with running_server(env) as base:
            login = {"email": user.email, "password": password}
            _assert_unavailable(*_post_json(base, "/api/v1/auth/login", login))

            forwarder.start()
            _assert_logins_work_again(base, login)
    finally:
        forwarder.stop()


def _forwarder_to_the_database() -> Forwarder:
    from django.db import connection

    return Forwarder((connection.settings_dict["HOST"] or "127.0.0.1", int(connection.settings_dict["PORT"] or 5432)))


def _assert_logins_work_again(base: str, login: dict[str, str]) -> None:
    deadline = time.monotonic() + WAIT
    while (status := _post_json(base, "/api/v1/auth/login", login)[0]) == 503:
        assert time.monotonic() < deadline, "the server never used the database again"
    assert status == 200


def test_a_dead_database_is_a_fast_503_on_the_rest_tier():
    env = {"DATABASE_URL": f"postgres://postgres@{CLOSED}/unreachable", "REDIS_URL": None, "DB_CONNECT_TIMEOUT": "1"}
    with rest_tier_server(env) as base:
        started = time.monotonic()
        _assert_unavailable(*_post_json(base, "/api/v1/auth/login", {"email": "a@example.com", "password": "x" * 12}))
        assert time.monotonic() - started < WAIT


@pytest.mark.skipif(not USING_POSTGRES, reason="needs the real PostgreSQL behind the forwarder")
@pytest.mark.django_db(transaction=True)
def test_the_rest_tier_replaces_a_kept_connection_the_database_dropped(real_password_hashers, user, password):
    """The REST tier keeps a connection per thread (DB_CONN_MAX_AGE): one the database closed costs a 503,
    never a stuck thread, and the next request connects again."""
    forwarder = _forwarder_to_the_database()
    forwarder.start()
    env = {"DATABASE_URL": _database_url(forwarder.port), "REDIS_URL": None, "DB_CONNECT_TIMEOUT": "1"}
    login = {"email": user.email, "password": password}
    try:
        with rest_tier_server(env) as base:
            assert _post_json(base, "/api/v1/auth/login", login)[0] == 200

            forwarder.stop()  # every kept connection is cut, and no new one can be made
            _assert_unavailable(*_post_json(base, "/api/v1/auth/login", login))

            forwarder.start()
            _assert_logins_work_again(base, login)
    finally:
        forwarder.stop()


@pytest.mark.skipif(not (USING_POSTGRES and USING_REDIS), reason="needs the services-mode database and Redis")
@pytest.mark.django_db(transaction=True)
async def test_a_dead_redis_refuses_streams_and_they_come_back_with_it(user):
    redis_url = os.environ["REDIS_URL"]
    host_port = redis_url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    forwarder = Forwarder((host, int(port or 6379)))
    database = redis_url.rsplit("/", 1)[1] if redis_url.count("/") >= 3 else "0"
    env = {"DATABASE_URL": _database_url(), "REDIS_URL": f"redis://127.0.0.1:{forwarder.port}/{database}"}
    token = _access_token(user.pk)
    try:
        with running_server(env) as base:
            uri = base.replace("http", "ws") + "/ws/notifications"
            assert await _ws_close_code(uri, token) == 1013
            events = base + "/api/v1/notifications/events"
            sse = urllib.request.Request(events, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
            _assert_unavailable(*await asyncio.to_thread(_open, sse))

            forwarder.start()

            deadline = time.monotonic() + WAIT
            while (code := await _ws_close_code(uri, token)) == 1013:
                assert time.monotonic() < deadline, "WebSockets never worked again"
            assert code is None  # authenticated and open
    finally:
        forwarder.stop()


async def _ws_close_code(uri: str, token: str) -> int | None:
    """Connect with a bearer token: the close code, or None when the socket says `ready`."""
    try:
        async with connect(uri, subprotocols=["bearer", token], open_timeout=WAIT) as client:  # type: ignore[list-item]
            try:
                message = json.loads(await asyncio.wait_for(client.recv(), WAIT))
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1
            assert message["type"] == "ready", message
            return None
    except InvalidStatus as refused:
        return -refused.response.status_code
