"""The hostile set: each refused with its documented 4xx, and nothing left behind in storage."""

from __future__ import annotations

import pytest

from file_processor.models import DirectUploadToken, StoredFile

from .conftest import problem
from .samples import CSV_TEXT, bomb_png, gif_zip_polyglot, image_bytes, xlsx_bytes, zip_bomb_xlsx

pytestmark = pytest.mark.django_db


def _refused(response, status: int, code: str, stored_keys) -> None:
    assert response.status_code == status, response.content[:400]
    assert problem(response)["code"] == code
    assert stored_keys() == []
    assert not StoredFile.objects.exists()


def test_decompression_bomb_png_is_422(upload, stored_keys, settings):
    settings.FILES_MAX_IMAGE_PIXELS = 50_000_000
    content = bomb_png(12_000)  # 144 Mpx in a few hundred KB
    assert len(content) < 1_000_000
    _refused(upload(content, name="bomb.png", content_type="image/png"), 422, "decompression_bomb", stored_keys)


def test_image_between_cap_and_twice_cap_is_refused_too(upload, stored_keys, settings):
    """Pillow only *warns* between MAX_IMAGE_PIXELS and twice it; the warning is an error here."""
    settings.FILES_MAX_IMAGE_PIXELS = 10_000
    content = image_bytes("PNG", (120, 120))  # 14,400 px: warning territory
    _refused(upload(content, name="big.png", content_type="image/png"), 422, "decompression_bomb", stored_keys)


def test_zip_bomb_xlsx_is_422(upload, stored_keys):
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    _refused(upload(zip_bomb_xlsx(), name="bomb.xlsx", content_type=xlsx), 422, "zip_bomb", stored_keys)


def test_xlsx_with_too_many_entries_is_422(upload, stored_keys, settings):
    settings.FILES_ZIP_MAX_ENTRIES = 3
    _refused(upload(xlsx_bytes([["a"]]), name="many.xlsx"), 422, "zip_bomb", stored_keys)


def test_gif_zip_polyglot_is_415(upload, stored_keys):
    _refused(upload(gif_zip_polyglot(), name="cat.gif", content_type="image/gif"), 415, "polyglot_file", stored_keys)


def test_wrong_declared_type_is_415(upload, stored_keys):
    response = upload(CSV_TEXT.encode(), name="photo.png", content_type="image/png")
    _refused(response, 415, "content_type_mismatch", stored_keys)
    assert response.json()["detected_type"] == "text/csv"


def test_disallowed_detected_type_is_415(upload, stored_keys):
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 200
    _refused(upload(elf, name="tool.png", content_type="image/png"), 415, "unsupported_media_type", stored_keys)


def test_declared_image_with_corrupt_body_is_422(upload, stored_keys):
    broken = image_bytes("PNG")[:40]  # the signature survives, the image does not
    _refused(upload(broken, name="broken.png", content_type="image/png"), 422, "corrupt_file", stored_keys)


def test_nul_byte_in_a_multipart_filename_never_reaches_the_name(upload):
    response = upload(CSV_TEXT.encode(), name="evil\x00.csv", content_type="text/csv")
    assert response.status_code == 201
    assert response.json()["original_name"] == "evil.csv"


@pytest.mark.parametrize("name", ["evil\x00.csv", "line\nbreak.csv", "bell\x07.csv"])
def test_control_characters_in_a_signed_upload_filename_are_400(auth_client, name):
    response = auth_client.post(
        "/api/v1/files/uploads/signed-url", {"filename": name, "content_type": "text/csv", "size": 10}, format="json"
    )
    assert response.status_code == 400
    # DRF's CharField refuses NUL itself (validation_error on `filename`); the sanitiser the rest.
    assert problem(response)["code"] in {"invalid_filename", "validation_error"}
    assert not DirectUploadToken.objects.exists()


@pytest.mark.parametrize(
    ("name", "kept"),
    [("../../etc/passwd.csv", "passwd.csv"), ("..\\..\\boot.csv", "boot.csv"), (".hidden.csv", "hidden.csv")],
)
def test_traversal_filenames_are_reduced_to_a_display_name(upload, name, kept):
    response = upload(CSV_TEXT.encode(), name=name, content_type="text/csv")
    assert response.status_code == 201
    body = response.json()
    assert body["original_name"] == kept
    key = StoredFile.objects.get(pk=body["id"]).storage_key
    assert ".." not in key and kept not in key


def test_over_limit_upload_with_content_length_is_413(upload, stored_keys, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 1000
    content = b"a,b\n" + b"1,2\n" * 20_000  # 80 KB: past the limit plus the multipart slack
    _refused(upload(content, name="big.csv", content_type="text/csv"), 413, "payload_too_large", stored_keys)


def test_over_limit_file_inside_an_allowed_body_is_413_while_streaming(upload, stored_keys, settings):
    """The body fits the route's limit (file limit + multipart slack), the file does not."""
    settings.FILES_MAX_UPLOAD_BYTES = 1000
    content = b"a,b\n" + b"1,2\n" * 300  # 1.2 KB
    _refused(upload(content, name="big.csv", content_type="text/csv"), 413, "payload_too_large", stored_keys)


def test_upload_exactly_at_the_limit_is_accepted(upload, settings):
    content = (b"a,b\n" + b"1,2\n" * 300)[:1000]
    settings.FILES_MAX_UPLOAD_BYTES = len(content)
    assert upload(content, name="edge.csv", content_type="text/csv").status_code == 201
