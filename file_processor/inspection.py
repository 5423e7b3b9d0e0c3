"""What a file really is: name sanitising, MIME detection from content, and the hostile-input guards.

Every check here runs on the temporary copy of an upload *before* anything reaches storage, so a
refused file leaves nothing behind. The same guards run again in the converters (defence in depth:
settings can change between upload and conversion).
"""

from __future__ import annotations

import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO

import puremagic
from django.conf import settings
from PIL import Image

from common.errors import FieldError, ValidationFailed

from . import native
from .errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType

SNIFF_BYTES = 64 * 1024
FILENAME_MAX_CHARS = 255
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMAGE_TYPES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
    "image/avif": "AVIF",
}
# libmagic spellings that mean one of ours.
ALIASES = {"image/x-ms-bmp": "image/bmp", "image/x-bmp": "image/bmp", "text/x-markdown": "text/markdown"}
# Declared types that say nothing (browsers send them for unknown extensions).
GENERIC_DECLARED = {"", "application/octet-stream", "binary/octet-stream"}
# Text formats libmagic cannot always tell from plain text; the declared type or extension refines them.
TEXT_REFINEMENTS = {"text/csv", "text/markdown", "application/json", "text/html"}
# libmagic's guesses at what a plain text is about, from a line or two of it: a note with a line such
# as ".ab cd" reads as a troff page, one with "#include" as C. None is a format of its own (no parser
# of ours treats them differently, none is active content), so to us each is text/plain. Scripts with a
# shebang, XML and HTML stay what they are.
TEXT_GUESSES = {
    "text/troff",
    "text/x-asm",
    "text/x-c",
    "text/x-c++",
    "text/x-diff",
    "text/x-fortran",
    "text/x-java",
    "text/x-lisp",
    "text/x-makefile",
    "text/x-objective-c",
    "text/x-pascal",
    "text/x-po",
    "text/x-script.python",
    "text/x-tex",
}
EXTENSION_TYPES = {
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".json": "application/json",
}
ZIP_END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
ZIP_LOCAL_HEADER = b"PK\x03\x04"
# Control characters that plain text may contain (tab, LF, VT, FF, CR, ESC); any other means binary.
TEXT_CONTROLS = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B}


def normalise_mime(value: str) -> str:
    base = (value or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def filename_sanitise(raw: str | None) -> str:
    """The client's filename reduced to a safe display name; refuses NUL and control characters.

    Only the last path component is kept (`../../etc/passwd` -> `passwd`, `C:\\x\\y.png` -> `y.png`).
    The result is never used as a storage key.
    """
    name = unicodedata.normalize("NFC", raw or "")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValidationFailed(
            "The filename contains NUL or control characters.",
            code="invalid_filename",
            errors=[FieldError(attr="file", code="invalid_filename", detail="Control characters are not allowed.")],
        )
    name = PureWindowsPath(PurePosixPath(name).name).name.strip().lstrip(".")
    if name in ("", ".", ".."):
        name = "file"
    if len(name) > FILENAME_MAX_CHARS:
        _stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        name = name[: FILENAME_MAX_CHARS - len(keep) - 1] + ("." + keep if keep else "")
    return name


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 (a multi-byte character cut at the end of the sniffed bytes is fine) without binary controls."""
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    return not any(ord(ch) < 0x20 and ord(ch) not in TEXT_CONTROLS for ch in text)


def sniff_fallback(head: bytes) -> str:
    """libmagic's answer, approximated without libmagic: puremagic's signatures, XLSX told from other
    ZIPs by its `xl/` entries, and a text heuristic (the caller refines text/plain as it does for libmagic)."""
    if not head:
        return "application/x-empty"
    if head.startswith(ZIP_LOCAL_HEADER):
        return XLSX if b"xl/" in head else "application/zip"
    try:
        found = str(puremagic.from_string(head, mime=True))
    except (puremagic.PureError, ValueError):
        found = ""
    if found:
        return found
    return "text/plain" if _looks_like_text(head) else "application/octet-stream"


def content_sniff(head: bytes) -> str:
    """The MIME type of these first bytes: libmagic when it loads, else the pure-Python fallback."""
    module = native.libmagic()
    if module is None:
        return sniff_fallback(head)
    return str(module.from_buffer(head, mime=True))


@dataclass(frozen=True)
class Detected:
    mime_type: str
    declared: str


def mime_detect(*, head: bytes, declared: str, filename: str) -> Detected:
    """The file's type from its first bytes (libmagic, or its fallback), refined for text formats, checked against the
    allow-list and against the declared type. Raises 415 when refused."""
    declared_type = normalise_mime(declared)
    detected = normalise_mime(content_sniff(head[:SNIFF_BYTES]))
    if detected in TEXT_GUESSES:
        detected = "text/plain"
    hinted = (
        declared_type
        if declared_type in TEXT_REFINEMENTS
        else EXTENSION_TYPES.get(PurePosixPath(filename.lower()).suffix, "")
    )
    if (detected == "text/plain" and hinted in TEXT_REFINEMENTS) or (
        detected == "text/html" and hinted == "text/markdown"
    ):
        detected = hinted
    allowed = {normalise_mime(item) for item in settings.FILES_ALLOWED_MIME_TYPES}
    if detected not in allowed:
        raise UnsupportedMediaType(
            f"The content is {detected}, which is not accepted; accepted: {', '.join(sorted(allowed))}.",
            code="unsupported_media_type",
            extra={"detected_type": detected},
        )
    if declared_type not in GENERIC_DECLARED and declared_type != detected:
        text_ok = declared_type == "text/plain" and (detected.startswith("text/") or detected == "application/json")
        if not text_ok:
            raise UnsupportedMediaType(
                f"The file was declared as {declared_type} but its content is {detected}.",
                code="content_type_mismatch",
                extra={"detected_type": detected, "declared_type": declared_type},
            )
    return Detected(mime_type=detected, declared=declared_type)


@contextmanager
def image_limits() -> Iterator[None]:
    """Pillow's pixel cap from FILES_MAX_IMAGE_PIXELS, and its bomb *warning* raised as an error."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = int(settings.FILES_MAX_IMAGE_PIXELS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


class KeepOpen:
    """A view of a file that Pillow may "close" without closing (or deleting) the temporary file beneath."""

    def __init__(self, fp: IO[bytes]) -> None:
        self._fp = fp

    def read(self, size: int = -1) -> bytes:
        return self._fp.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fp.seek(offset, whence)

    def tell(self) -> int:
        return self._fp.tell()

    def close(self) -> None:
        pass


def image_open(fp: IO[bytes], mime_type: str) -> Image.Image:
    """Open an image of the detected format only (no format guessing), refusing bombs (422)."""
    try:
        with image_limits():
            image = Image.open(KeepOpen(fp), formats=[IMAGE_TYPES[mime_type]])  # type: ignore[arg-type]
            width, height = image.size
            if width * height > int(settings.FILES_MAX_IMAGE_PIXELS):
                raise Image.DecompressionBombError(f"{width}x{height} pixels")
            return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Unprocessable(
            f"The image decodes to more than {settings.FILES_MAX_IMAGE_PIXELS} pixels ({exc}).",
            code="decompression_bomb",
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unprocessable(f"The image cannot be decoded: {exc}", code="corrupt_file") from exc


def zip_guard(fp: IO[bytes], compressed_size: int) -> None:
    """Refuse a ZIP (XLSX) whose entry count, uncompressed size or ratio is past the limits (422)."""
    try:
        with zipfile.ZipFile(fp) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Unprocessable(f"The workbook is not a readable ZIP archive: {exc}", code="corrupt_file") from exc
    finally:
        fp.seek(0)
    total = sum(entry.file_size for entry in entries)
    ratio = total / max(1, compressed_size)
    if (
        len(entries) > settings.FILES_ZIP_MAX_ENTRIES
        or total > settings.FILES_ZIP_MAX_UNCOMPRESSED_BYTES
        or ratio > settings.FILES_ZIP_MAX_RATIO
    ):
        raise Unprocessable(
            f"The archive expands past the limits ({len(entries)} entries, {total} bytes, ratio {ratio:.0f}; "
            f"limits {settings.FILES_ZIP_MAX_ENTRIES} entries, {settings.FILES_ZIP_MAX_UNCOMPRESSED_BYTES} bytes, "
            f"ratio {settings.FILES_ZIP_MAX_RATIO}).",
            code="zip_bomb",
        )


def polyglot_guard(fp: IO[bytes], size: int, mime_type: str) -> None:
    """Refuse a non-ZIP file that also carries a ZIP directory (a GIF+ZIP polyglot passes every sniffer)."""
    if mime_type == XLSX:
        return
    fp.seek(max(0, size - SNIFF_BYTES))
    tail = fp.read(SNIFF_BYTES)
    fp.seek(0)
    if ZIP_END_OF_CENTRAL_DIRECTORY in tail:
        raise UnsupportedMediaType(
            f"The file is {mime_type} but also contains a ZIP archive (a polyglot); it is refused.",
            code="polyglot_file",
        )


def content_validate(fp: IO[bytes], *, size: int, mime_type: str) -> dict[str, object]:
    """Decode enough of the file to trust its type; returns metadata worth keeping (image size...)."""
    polyglot_guard(fp, size, mime_type)
    if mime_type in IMAGE_TYPES:
        image = image_open(fp, mime_type)
        try:
            image.verify() if mime_type == "image/png" else None
            return {"width": image.size[0], "height": image.size[1], "format": image.format}
        except Exception as exc:  # any decoder complaint means a corrupt image
            raise Unprocessable(f"The image cannot be decoded: {exc}", code="corrupt_file") from exc
        finally:
            image.close()
            fp.seek(0)
    if mime_type == XLSX:
        zip_guard(fp, size)
    return {}


def upload_limit_error(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is larger than the limit of {limit} bytes.")
