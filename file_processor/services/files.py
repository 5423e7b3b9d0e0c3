"""Storing, deleting and expiring files. Storage is only ever reached through Django's storage API."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ..inspection import SNIFF_BYTES, content_validate, filename_sanitise, mime_detect
from ..models import DirectUploadToken, FileOrigin, StoredFile
from ..selectors import file_get
from ..uploads import UPLOAD_SUFFIX, incoming_dir

logger = logging.getLogger(__name__)


def storage_key_new() -> str:
    """A fresh storage key chosen by the server: `files/<yyyy>/<mm>/<uuid hex>` (no client input)."""
    now = timezone.now()
    return f"files/{now:%Y}/{now:%m}/{uuid.uuid4().hex}"


def storage_delete_quietly(key: str) -> None:
    """Delete an object; a storage error is logged (retention retries), never raised to the caller."""
    try:
        default_storage.delete(key)
    except Exception:
        logger.warning("files: could not delete %s from storage", key, exc_info=True)


def _expiry() -> Any:
    return timezone.now() + timedelta(seconds=int(settings.FILES_RETENTION_SECONDS))


def file_store(
    *,
    owner: Any,
    fp: IO[bytes],
    size: int,
    sha256: str,
    head: bytes,
    filename: str,
    declared_type: str = "",
    origin: str = FileOrigin.UPLOAD,
    storage_key: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> StoredFile:
    """Validate a complete upload (on its temporary copy) and store it: the row and the object together.

    Refusals (415 type, 422 bomb/corrupt/polyglot, 400 filename) happen before anything is written to
    storage. If the row cannot be written the object is removed again.
    """
    name = filename_sanitise(filename)
    detected = mime_detect(head=head, declared=declared_type, filename=name)
    facts = content_validate(fp, size=size, mime_type=detected.mime_type)
    fp.seek(0)
    content = File(fp, name=name)
    if hasattr(fp, "temporary_file_path"):  # a temporary upload: FileSystemStorage moves it (a rename), not copies
        content.temporary_file_path = fp.temporary_file_path  # type: ignore[attr-defined]
    key = default_storage.save(storage_key or storage_key_new(), content)
    try:
        with transaction.atomic():
            return StoredFile.objects.create(
                owner=owner,
                storage_key=key,
                original_name=name,
                size=size,
                sha256=sha256,
                mime_type=detected.mime_type,
                declared_mime_type=detected.declared,
                origin=origin,
                metadata={**facts, **(metadata or {})},
                expires_at=_expiry(),
            )
    except BaseException:
        storage_delete_quietly(key)
        raise


def file_store_bytes(
    *, owner: Any, content: bytes, filename: str, declared_type: str = "", metadata: dict[str, Any] | None = None
) -> StoredFile:
    """`file_store` for bytes already in memory (seed data, other apps' small files, tests)."""
    return file_store(
        owner=owner,
        fp=ContentFile(content),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        head=content[:SNIFF_BYTES],
        filename=filename,
        declared_type=declared_type,
        metadata=metadata,
    )


def file_store_output(
    *, owner: Any, fp: IO[bytes], size: int, sha256: str, name: str, mime_type: str, metadata: dict[str, Any]
) -> StoredFile:
    """Store a conversion's output (made by us, so trusted: no sniffing) with its own expiry."""
    key = default_storage.save(storage_key_new(), File(fp, name=name))
    try:
        with transaction.atomic():
            return StoredFile.objects.create(
                owner=owner,
                storage_key=key,
                original_name=filename_sanitise(name),
                size=size,
                sha256=sha256,
                mime_type=mime_type,
                declared_mime_type="",
                origin=FileOrigin.CONVERSION,
                metadata=metadata,
                expires_at=_expiry(),
            )
    except BaseException:
        storage_delete_quietly(key)
        raise


def file_delete(*, user: Any, file_id: Any) -> None:
    """Delete one of the user's files (404 for anyone else's): the row now, the object after commit."""
    stored = file_get(user=user, file_id=file_id)
    _delete_rows([stored])


def _delete_rows(rows: list[StoredFile]) -> None:
    keys = [row.storage_key for row in rows]
    with transaction.atomic():
        StoredFile.objects.filter(pk__in=[row.pk for row in rows]).delete()

        def remove_objects() -> None:
            for key in keys:
                storage_delete_quietly(key)

        transaction.on_commit(remove_objects)


def files_expire(*, now: Any = None, batch_size: int = 500) -> int:
    """Delete files (uploads and outputs) past `expires_at`, and stale direct-upload nonces. Returns files deleted."""
    now = now or timezone.now()
    deleted = 0
    while True:
        rows = list(StoredFile.objects.filter(expires_at__lte=now).order_by("expires_at")[:batch_size])
        if not rows:
            break
        _delete_rows(rows)
        deleted += len(rows)
    DirectUploadToken.objects.filter(expires_at__lte=now - timedelta(days=1)).delete()
    if deleted:
        logger.info("files: expired %d file(s)", deleted)
    files_incoming_sweep(now=now)
    return deleted


def files_incoming_sweep(*, now: Any = None) -> int:
    """Delete upload temporary files a process left behind when it died mid-upload; returns how many.

    Only `*.upload` files in the storage's own `.incoming` folder (`uploads.upload_temp_dir`), never a
    FILE_UPLOAD_TEMP_DIR the operator named (it may be shared), and only those untouched for
    FILES_INCOMING_MAX_AGE_SECONDS: a live upload's file is written to while its body arrives.
    """
    folder = None if settings.FILE_UPLOAD_TEMP_DIR else incoming_dir()
    if folder is None:
        return 0
    cutoff = (now or timezone.now()).timestamp() - int(settings.FILES_INCOMING_MAX_AGE_SECONDS)
    removed = 0
    for leftover in folder.glob(f"*{UPLOAD_SUFFIX}") if folder.is_dir() else ():
        try:
            if leftover.is_file() and not leftover.is_symlink() and leftover.stat().st_mtime < cutoff:
                leftover.unlink()
                removed += 1
        except FileNotFoundError:  # its upload finished (moved) or another sweep got it first
            continue
    if removed:
        logger.warning("files: deleted %d upload temporary file(s) left by interrupted uploads", removed)
    return removed
