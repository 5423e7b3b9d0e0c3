"""The parsed view of a form or multipart body (the raw bytes are always kept as well).

Pure functions, no Django: `form_view(content_type, body)` returns
`{"kind": "urlencoded"|"multipart", "fields": [[name, value], ...], "files": [{field, filename,
content_type, size, sha256}, ...]}` or None when the body is neither (or is malformed).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
from typing import Any
from urllib.parse import parse_qsl

MAX_PARTS = 1000


def _storable(text: str) -> str:
    """The text as JSON in PostgreSQL can hold it: U+0000 and lone surrogates (the email parser keeps
    undecodable header bytes as surrogates) become U+FFFD. Only the parsed view; the body stays exact."""
    return text.replace("\x00", "\ufffd").encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def form_view(content_type: str, body: bytes) -> dict[str, Any] | None:
    media_type = _media_type(content_type)
    if media_type == "application/x-www-form-urlencoded":
        return _urlencoded(body)
    if media_type == "multipart/form-data":
        return _multipart(content_type, body)
    return None


def _urlencoded(body: bytes) -> dict[str, Any] | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=None)[:MAX_PARTS]
    return {"kind": "urlencoded", "fields": [[_storable(name), _storable(value)] for name, value in pairs], "files": []}


def _multipart(content_type: str, body: bytes) -> dict[str, Any] | None:
    # The stdlib MIME parser reads the parts once the header names the boundary.
    head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\nMIME-Version: 1.0\r\n\r\n"
    try:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    except Exception:  # a malformed body is still stored raw; it just has no parsed view
        return None
    if not message.is_multipart():
        return None
    fields: list[list[str]] = []
    files: list[dict[str, Any]] = []
    for part in list(message.iter_parts())[:MAX_PARTS]:
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if filename is not None:
            files.append(
                {
                    "field": _storable(str(name or "")),
                    "filename": _storable(str(filename)),
                    "content_type": part.get_content_type(),
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
        else:
            charset = part.get_content_charset() or "utf-8"
            try:
                value = data.decode(charset)
            except (LookupError, UnicodeDecodeError):
                value = data.decode("latin-1")
            fields.append([_storable(str(name or "")), _storable(value)])
    return {"kind": "multipart", "fields": fields, "files": files}
