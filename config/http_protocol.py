"""uvicorn's httptools HTTP protocol, also keeping each header name as the client sent it.

ASGI lowercases header names; a webhook tester must show them as sent (`X-GitHub-Event`, not
`x-github-event`). This protocol adds `scope["extensions"]["raw_header_names"]`: the names as
received, in the order of `scope["headers"]` (the capture path uses them; everything else keeps
reading the lowercased headers). Select it with `uvicorn --http config.http_protocol:HeaderCaseHttpToolsProtocol`
(`make serve` does). Parsing, limits and keep-alive are uvicorn's.

A request the parser refuses (bytes outside ASCII in the request line, a malformed header, broken
chunked framing) never reaches the application; uvicorn answers it with a plain-text 400 of its own.
Here that answer is the platform's problem+json (code `malformed_http`), like every other error.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from common.errors.problems import PROBLEM_CONTENT_TYPE, problem_body

RAW_HEADER_NAMES = "raw_header_names"
MALFORMED_HTTP_BODY = json.dumps(
    problem_body(
        status=400,
        code="malformed_http",
        detail="The request is not valid HTTP/1.1 (e.g. a byte outside ASCII in the path or query: percent-encode it).",
    )
).encode()


class HeaderCaseHttpToolsProtocol(HttpToolsProtocol):
    _raw_names: list[bytes]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._raw_names = []
        scope: Any = self.scope
        scope.setdefault("extensions", {})[RAW_HEADER_NAMES] = self._raw_names

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_names.append(name)
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: " + PROBLEM_CONTENT_TYPE.encode() + b"\r\n",
            b"content-length: " + str(len(MALFORMED_HTTP_BODY)).encode() + b"\r\n",
            b"x-content-type-options: nosniff\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + MALFORMED_HTTP_BODY)
        self.transport.close()
