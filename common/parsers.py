"""Request parsers shared by every API."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError, UnsupportedMediaType


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, always UTF-8, with the inputs it lets escape as a 500 turned into 400 `malformed_json`.

    Deeply nested arrays/objects make the decoder raise RecursionError, and a body that is not valid
    UTF-8 in a way the codec reader reports late raises UnicodeError; both are bad input.

    JSON is UTF-8 (RFC 8259, section 8.1); DRF would decode a body in whatever `charset` the Content-Type
    names, so `application/json; charset=latin-1` turned UTF-8 "café" into "cafÃ©" and stored it. A
    charset other than UTF-8 is refused with 415 instead of being guessed at.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        charset = parse_header_parameters(media_type or "")[1].get("charset")
        if charset is not None and not _is_utf8(charset):
            raise UnsupportedMediaType(
                media_type or "", detail=f"JSON bodies are UTF-8; charset={charset!r} is not accepted (RFC 8259)."
            )
        try:
            return super().parse(stream, media_type, {**(parser_context or {}), "encoding": "utf-8"})
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        except UnicodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False
