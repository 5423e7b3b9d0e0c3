"""uvicorn's httptools HTTP protocol, also keeping each header name as the client sent it.

ASGI lowercases header names; a webhook tester must show them as sent (`X-GitHub-Event`, not
`x-github-event`). This protocol adds `scope["extensions"]["raw_header_names"]`: the names as
received, in the order of `scope["headers"]` (the capture path uses them; everything else keeps
reading the lowercased headers). Select it with `uvicorn --http config.http_protocol:HeaderCaseHttpToolsProtocol`
(`make serve` does). Nothing else changes: parsing, limits and keep-alive are uvicorn's.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

RAW_HEADER_NAMES = "raw_header_names"


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
