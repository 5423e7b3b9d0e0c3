"""Without Debian's libmagic1 and pango (a fresh `make run` machine) the app degrades, it does not break.

The libraries stay installed: the loaders in file_processor.native are replaced to raise what python-magic
and WeasyPrint raise on such a machine, and the probe caches are cleared before and after.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import magic
import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from file_processor import native
from file_processor.converters import registry
from file_processor.inspection import normalise_mime, sniff_fallback
from file_processor.models import ConversionJob, StoredFile

from .conftest import problem
from .samples import CSV_TEXT, MARKDOWN_TEXT, image_bytes, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SAMPLES = [
    *((f"a.{fmt.lower()}", f"image/{fmt.lower()}", image_bytes(fmt)) for fmt in ("JPEG", "PNG", "WEBP", "GIF")),
    *((f"a.{fmt.lower()}", f"image/{fmt.lower()}", image_bytes(fmt)) for fmt in ("TIFF", "BMP", "AVIF")),
    ("a.xlsx", XLSX, xlsx_bytes([["a", "b"], [1, 2]])),
    ("a.pdf", "application/pdf", PDF_BYTES),
    ("a.csv", "text/csv", CSV_TEXT.encode()),
    ("a.md", "text/markdown", MARKDOWN_TEXT.encode()),
    ("a.json", "application/json", b'[{"a": 1}, {"a": 2}]'),
    ("a.html", "text/html", b"<!doctype html><html><body><p>hi</p></body></html>"),
    ("a.txt", "text/plain", "plain text, caf\u00e9\n".encode()),
]


def _raise_import_error() -> None:
    raise ImportError("failed to find libmagic.  Check your installation")


def _raise_os_error() -> None:
    raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file")


def _reset() -> None:
    native.probes_reset()
    registry.cache_clear()


@pytest.fixture
def without_native(monkeypatch):
    monkeypatch.setattr(native, "magic_import", _raise_import_error)
    monkeypatch.setattr(native, "weasyprint_import", _raise_os_error)
    _reset()
    yield
    monkeypatch.undo()
    _reset()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "mime", "content"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_uploads_detect_types_with_the_fallback(without_native, upload, name, mime, content):
    assert native.libmagic() is None
    response = upload(content, name=name, content_type="application/octet-stream")
    assert response.status_code == 201, response.content
    assert response.json()["mime_type"] == mime


@pytest.mark.django_db
def test_fallback_still_refuses_what_is_not_allowed(without_native, upload):
    body = problem(upload(b"MZ\x90\x00" + b"\0" * 200, name="a.exe"))
    assert body["code"] == "unsupported_media_type"
    body = problem(upload(image_bytes("PNG"), name="a.gif", content_type="image/gif"))
    assert body["code"] == "content_type_mismatch"


@pytest.mark.parametrize(("name", "mime", "content"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_fallback_agrees_with_libmagic_on_binary_formats(name, mime, content):
    """Where libmagic names a binary format, the fallback names the same one (text is refined later)."""
    real = normalise_mime(magic.from_buffer(content, mime=True))
    if not real.startswith("text/") and real != "application/json":
        assert normalise_mime(sniff_fallback(content)) == real


@pytest.mark.django_db
def test_without_pango_the_matrix_omits_pdf_and_pdf_is_422(without_native, auth_client, upload):
    body = auth_client.get("/api/v1/files/conversions").json()
    by_source = {entry["source_type"]: {t["format"] for t in entry["targets"]} for entry in body["conversions"]}
    assert by_source["text/markdown"] == {"html"}
    assert "text/html" not in by_source  # its only target was PDF
    assert by_source["text/csv"] == {"json", "xlsx"}
    source = upload(MARKDOWN_TEXT.encode(), name="a.md", content_type="text/markdown").json()
    response = auth_client.post(
        "/api/v1/files/convert", {"file_id": source["id"], "target_format": "pdf"}, format="json"
    )
    assert response.status_code == 422
    body = problem(response)
    assert body["code"] == "unsupported_conversion"
    assert body["supported_targets"] == ["html"]
    assert not ConversionJob.objects.exists()


@pytest.mark.django_db
def test_seed_without_pango_skips_the_pdf_demo_and_says_so(without_native, settings):
    settings.SEED_DEMO_USERS = True
    out = io.StringIO()
    call_command("seed", stdout=out)
    assert "skipped the readme.md -> pdf demo" in out.getvalue()
    files = StoredFile.objects.filter(owner__email="demo@example.com", metadata__seed=True)
    assert sorted(files.values_list("original_name", flat=True)) == ["lines.png", "sales.csv"]
    jobs = ConversionJob.objects.filter(owner__email="demo@example.com")
    assert jobs.count() == 2 and set(jobs.values_list("status", flat=True)) == {"succeeded"}


def test_missing_libraries_are_warned_once_by_name(without_native, caplog):
    with caplog.at_level(logging.WARNING, logger="file_processor.native"):
        native.libmagic()
        native.pdf_available()
        native.libmagic()
        native.pdf_available()
    messages = [record.getMessage() for record in caplog.records if record.name == "file_processor.native"]
    assert len(messages) == 2
    assert "libmagic1" in messages[0] and "puremagic" in messages[0]
    assert "libpango-1.0-0" in messages[1]
    checks = {message.id: message for message in run_checks() if (message.id or "").startswith("file_processor.")}
    assert set(checks) == {"file_processor.W001", "file_processor.W002"}
    assert all(not message.is_serious() for message in checks.values())  # warnings, not errors
    assert "libpango-1.0-0" in (checks["file_processor.W002"].hint or "")


def test_with_the_libraries_nothing_is_warned_and_pdf_is_offered():
    _reset()
    assert native.libmagic() is not None and native.pdf_available()
    assert ("text/html", "pdf") in registry()
    assert not [m for m in run_checks() if m.id and m.id.startswith("file_processor.")]


def test_the_app_starts_when_the_modules_cannot_be_imported():
    """A fresh process where `import magic` and `import weasyprint` fail: setup and `check` still pass."""
    code = (
        "import sys; sys.modules['magic'] = None; sys.modules['weasyprint'] = None\n"
        "import django; django.setup()\n"
        "from django.core.management import call_command; call_command('check')\n"
        "from file_processor.converters import targets_for; print('targets', targets_for('text/markdown'))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", code], cwd=root, env=dict(os.environ), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "targets ['html']" in result.stdout
    assert "file_processor.W001" in result.stderr and "file_processor.W002" in result.stderr


def test_fallback_text_rule_refuses_binary_and_tolerates_a_cut_character():
    assert sniff_fallback(b"name,qty\x00\x01\x02\n") == "application/octet-stream"
    cut = ("a,b\n" + "\u00e9" * 10).encode()[:-1]  # the sniffed head ends inside a two-byte character
    assert sniff_fallback(cut) == "text/plain"
    assert sniff_fallback(b"ok \xc3\x28 not UTF-8") == "application/octet-stream"
