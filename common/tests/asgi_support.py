"""Drive an ASGI application with one plain HTTP GET (asgiref's communicator), for tests below Django's client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asgiref.testing import ApplicationCommunicator


async def asgi_get(app: Any, path: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> tuple[int, dict, bytes]:
    """`(status, headers by lower-case name, body)` of `GET path` sent to `app`."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=10)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body
