"""Streaming upload handling: each chunk is hashed, counted and written once to a temporary file.

`HashingUploadHandler` replaces Django's default handlers for the upload view. It never holds the
file in memory: chunks go straight to a `HashedUpload` temporary file (under ASGI as they arrive from
the socket: the upload routes' bodies are streamed, common/asgi/streaming.py), which FileSystemStorage
then *moves* into place: the temporary file lives on the storage's filesystem (`upload_temp_dir`), so
the bytes are written once, unless FILE_UPLOAD_TEMP_DIR names another filesystem or the storage is
remote. Past the limit it stops the upload and deletes the partial file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from .inspection import SNIFF_BYTES

INCOMING = ".incoming"
UPLOAD_SUFFIX = ".upload"  # of every upload temporary file (the retention sweep deletes abandoned ones)


def upload_temp_dir() -> str | None:
    """Where an upload is written while it arrives: FILE_UPLOAD_TEMP_DIR when set; with local storage a
    `.incoming` folder in its root (same filesystem: storing is a rename); else the system temp dir."""
    if settings.FILE_UPLOAD_TEMP_DIR:
        return str(settings.FILE_UPLOAD_TEMP_DIR)
    path = incoming_dir()
    if path is not None:
        os.makedirs(path, mode=0o700, exist_ok=True)
        return str(path)
    return None


def incoming_dir() -> Path | None:
    """The storage's own `.incoming` folder (local storage only), whether or not uploads use it now."""
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.location) / INCOMING
    return None


class HashedUpload(TemporaryUploadedFile):
    """A temporary upload that knows its sha256 and first bytes (for MIME detection)."""

    sha256: str = ""
    head: bytes = b""

    def __init__(
        self, name: str, content_type: str | None, size: int, charset: str | None, content_type_extra: Any = None
    ) -> None:
        # TemporaryUploadedFile's own, in `upload_temp_dir()` and without the client's extension in the path.
        file = tempfile.NamedTemporaryFile(suffix=UPLOAD_SUFFIX, dir=upload_temp_dir())  # noqa: SIM115  # closed by close()
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class HashingUploadHandler(FileUploadHandler):
    chunk_size = 256 * 1024

    def __init__(self, request: Any = None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.too_large = False
        self.files_seen = 0
        self.file: HashedUpload | None = None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files_seen += 1
        self.file = HashedUpload(
            self.file_name or "upload", self.content_type, 0, self.charset, self.content_type_extra
        )
        self._hash = hashlib.sha256()
        self._size = 0
        self._head = bytearray()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.file is None:
            return
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self.too_large = True
            self.abort()
            raise StopUpload(connection_reset=True)
        self._hash.update(raw_data)
        if len(self._head) < SNIFF_BYTES:
            self._head += raw_data[: SNIFF_BYTES - len(self._head)]
        self.file.write(raw_data)
        return

    def file_complete(self, file_size: int) -> HashedUpload | None:
        if self.file is None:
            return None
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self._hash.hexdigest()
        self.file.head = bytes(self._head)
        return self.file

    def abort(self) -> None:
        """Close (and so delete) the partial temporary file."""
        if self.file is not None and not self.file.closed:
            self.file.close()

    def upload_interrupted(self) -> None:
        self.abort()


def stream_to_temp(read: Any, *, max_bytes: int, chunk_size: int = 256 * 1024) -> HashedUpload:
    """Copy a request body (`read(n)`) into a temporary file, hashing it; 413 past `max_bytes`.

    On refusal the partial temporary file is closed, which deletes it.
    """
    from .inspection import upload_limit_error

    upload = HashedUpload("direct-upload", "application/octet-stream", 0, None)
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    try:
        while True:
            chunk = read(chunk_size)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise upload_limit_error(max_bytes)
            digest.update(chunk)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            upload.write(chunk)
    except BaseException:
        upload.close()
        raise
    upload.seek(0)
    upload.size = size
    upload.sha256 = digest.hexdigest()
    upload.head = bytes(head)
    return upload
