"""Drive an ASGI HTTP application in-process: a scope, body messages fed on demand, the response kept.

`Exchange.received` counts the request-body bytes the application asked for, so a test can say
"refused without reading": the server would not have read what nobody received.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

WAIT = 10.0


@dataclass
class Exchange:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    received: int = 0  # request-body bytes handed to the application
    messages: int = 0  # request messages handed to the application

    def json(self) -> Any:
        return json.loads(self.body)


def http_scope(
    path: str,
    *,
    method: str = "POST",
    headers: list[tuple[str, str]] | None = None,
    client: str = "127.0.0.1",
    query: str = "",
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers or []]
        + [(b"host", b"testserver")],
        "client": (client, 50000),
        "server": ("testserver", 80),
    }


async def exchange(
    app: Any,
    scope: dict[str, Any],
    chunks: Iterable[bytes] | None = None,
    *,
    disconnect_after: int | None = None,
    stall_after: int | None = None,
) -> Exchange:
    """Run `app` on `scope`, feeding `chunks` (any iterable, pulled one at a time as the application asks)
    as the body, then http.disconnect once answered; returns the response.

    `disconnect_after=n`: once n body bytes were handed out, the client is gone (every later `receive` is
    http.disconnect). `stall_after=n`: once n bytes were handed out, the client sends nothing more (the
    next `receive` waits until the application gives up on it).
    """
    result = Exchange()
    body = iter(chunks or [b""])
    upcoming = next(body, None)
    responded = asyncio.Event()
    gone = False

    async def receive() -> dict[str, Any]:
        nonlocal upcoming, gone
        if gone:
            return {"type": "http.disconnect"}
        if disconnect_after is not None and result.received >= disconnect_after:
            gone = True
            return {"type": "http.disconnect"}
        if upcoming is None or (stall_after is not None and result.received >= stall_after):
            await responded.wait()
            return {"type": "http.disconnect"}
        chunk, upcoming = upcoming, next(body, None)
        result.received += len(chunk)
        result.messages += 1
        return {"type": "http.request", "body": chunk, "more_body": upcoming is not None}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")
            if not message.get("more_body", False):
                responded.set()

    await asyncio.wait_for(app(scope, receive, send), WAIT)
    return result
