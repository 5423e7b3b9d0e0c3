"""Request parsers shared by every API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with the inputs it lets escape as a 500 turned into 400 `malformed_json`.

    Deeply nested arrays/objects make the decoder raise RecursionError, and a body that is not valid
    UTF-8 in a way the codec reader reports late raises UnicodeError; both are bad input.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        except UnicodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
