"""Streaming a stored file: Content-Length, single byte ranges (206/416), a safe Content-Disposition."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import IO
from urllib.parse import quote

from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from .errors import RangeNotSatisfiable
from .models import StoredFile

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII `filename` fallback and the exact name as RFC 5987 `filename*` (UTF-8)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()\[\]-]", "_", ascii_name).strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single satisfiable range; None to send the whole file.

    Malformed headers and multi-range requests are ignored (RFC 9110 allows answering 200); a range
    that starts past the end is 416.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    if last < first:
        return None
    return first, min(last, size - 1)


def _chunks(handle: IO[bytes], remaining: int) -> Iterator[bytes]:
    try:
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def download_response(stored: StoredFile, range_header: str | None) -> HttpResponseBase:
    span = byte_range(range_header, stored.size)
    handle = default_storage.open(stored.storage_key, "rb")
    response: HttpResponseBase
    if span is None:
        response = FileResponse(handle, content_type=stored.mime_type)
        response.block_size = CHUNK
        response["Content-Length"] = str(stored.size)
    else:
        first, last = span
        handle.seek(first)
        length = last - first + 1
        response = StreamingHttpResponse(_chunks(handle, length), status=206, content_type=stored.mime_type)
        response["Content-Length"] = str(length)
        response["Content-Range"] = f"bytes {first}-{last}/{stored.size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition(stored.original_name)
    response["ETag"] = f'"{stored.sha256}"'
    # Never rendered as a page of ours, even if a browser ignored the attachment disposition.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
