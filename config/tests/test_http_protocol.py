"""The HTTP protocol `make serve` runs: a request uvicorn's parser refuses is answered with problem+json.

uvicorn serves a tiny ASGI app in a thread of this process (common.tests.servers.uvicorn_in_thread).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from common.tests.servers import uvicorn_in_thread

WAIT = 10.0


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
def port() -> Iterator[int]:
    with uvicorn_in_thread(_hello, log_level="error") as port:
        yield port


def _exchange(port: int, request: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):  # the server closes the connection after either answer
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(b": ") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    "request_line",
    [b"GET /api/v1/orders/\xff\xfe HTTP/1.1", b"GET /api/v1/orders?q=\xe9 HTTP/1.1", b"GET / HTTP/1.1\x00"],
    ids=["path-byte", "query-byte", "nul"],
)
def test_a_request_the_parser_refuses_is_a_400_problem(port, request_line):
    status, headers, body = _exchange(port, request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 400 ")
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"connection"] == b"close"
    assert int(headers[b"content-length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["code"] == "malformed_http"


def test_a_valid_request_still_reaches_the_application(port):
    status, _headers, body = _exchange(port, b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200 ") and body == b"hello"
