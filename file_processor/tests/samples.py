"""Sample files made on the fly (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), color: str = "red", **save: object) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def jpeg_with_orientation(size: tuple[int, int] = (80, 40), orientation: int = 6) -> bytes:
    """A landscape JPEG whose EXIF says "rotate 90°": upright it is portrait."""
    image = Image.new("RGB", size, "blue")
    exif = image.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"  # Make: metadata that stripping removes
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def bomb_png(side: int = 12_000) -> bytes:
    """A small PNG that decodes to side*side pixels (a mode-1 image compresses to almost nothing)."""
    buffer = io.BytesIO()
    Image.new("1", (side, side), 0).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bomb_xlsx() -> bytes:
    """A real workbook plus one highly repetitive entry: ratio far past 100."""
    base = xlsx_bytes([["a", "b"], [1, 2]])
    buffer = io.BytesIO(base)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.xml", b"<a>" + b"A" * (20 * 1024 * 1024) + b"</a>")
    return buffer.getvalue()


def gif_zip_polyglot() -> bytes:
    """A valid GIF with a ZIP archive appended: every sniffer calls it a GIF."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("payload.txt", "hello")
    return image_bytes("GIF") + archive.getvalue()


CSV_TEXT = "name,qty,price\nwidget,3,2.50\ngadget,10,0.99\n"
MARKDOWN_TEXT = "# Report\n\nSome *emphasis* and a list:\n\n- one\n- two\n\n<script>alert(1)</script>\n"
