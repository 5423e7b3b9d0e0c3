"""Multipart uploads, listing, ownership, deletion and downloads (with ranges)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import default_storage

from file_processor.models import StoredFile

from .conftest import problem
from .samples import CSV_TEXT, MARKDOWN_TEXT, image_bytes

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_upload_stores_under_a_server_key_with_checksum_and_detected_type(upload, stored_keys):
    content = image_bytes("PNG", (32, 20))
    response = upload(content, name="My Photo.png", content_type="image/png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["size"] == len(content)
    assert body["mime_type"] == "image/png"
    assert body["declared_mime_type"] == "image/png"
    assert body["original_name"] == "My Photo.png"
    assert body["metadata"] == {"width": 32, "height": 20, "format": "PNG"}
    assert response["Location"] == f"/api/v1/files/{body['id']}"
    stored = StoredFile.objects.get(pk=body["id"])
    assert stored.storage_key.startswith("files/") and "Photo" not in stored.storage_key
    assert stored_keys() == [stored.storage_key]
    with default_storage.open(stored.storage_key, "rb") as handle:
        assert handle.read() == content


def test_markdown_declared_generic_is_refined_by_extension(upload):
    response = upload(MARKDOWN_TEXT.encode(), name="notes.md")
    assert response.status_code == 201
    assert response.json()["mime_type"] == "text/markdown"


def test_list_detail_and_delete_are_owner_only(upload, api_client, other_user, make_access_token, stored_keys):
    first = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    upload(CSV_TEXT.encode(), name="b.csv", content_type="text/csv")
    intruder = api_client
    intruder.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(other_user)}")
    assert intruder.get("/api/v1/files").json()["items"] == []
    for method, path in [
        ("get", f"/api/v1/files/{first['id']}"),
        ("delete", f"/api/v1/files/{first['id']}"),
        ("get", f"/api/v1/files/{first['id']}/download"),
        ("get", f"/api/v1/files/{first['id']}/status"),
    ]:
        response = getattr(intruder, method)(path)
        assert response.status_code == 404, (method, path)
        assert problem(response)["code"] == "file_not_found"
    assert len(stored_keys()) == 2


def test_list_is_paginated_newest_first(upload, auth_client):
    ids = [upload(CSV_TEXT.encode(), name=f"{n}.csv", content_type="text/csv").json()["id"] for n in range(3)]
    page = auth_client.get("/api/v1/files?limit=2").json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    assert page["has_more"] is True
    rest = auth_client.get(f"/api/v1/files?limit=2&cursor={page['next_cursor']}").json()
    assert [item["id"] for item in rest["items"]] == [ids[0]]


def test_delete_removes_row_and_object(upload, auth_client, stored_keys, django_capture_on_commit_callbacks):
    body = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(f"/api/v1/files/{body['id']}")
    assert response.status_code == 204
    assert stored_keys() == []
    assert auth_client.get(f"/api/v1/files/{body['id']}").status_code == 404


def test_download_full_with_length_type_and_safe_disposition(upload, auth_client):
    content = CSV_TEXT.encode()
    body = upload(content, name='rép "q".csv', content_type="text/csv").json()
    response = auth_client.get(f"/api/v1/files/{body['id']}/download", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert _body(response) == content
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"rep _q_.csv\"; filename*=UTF-8''r%C3%A9p%20%22q%22.csv"
    )


@pytest.mark.parametrize(
    ("header", "status", "expected"),
    [
        ("bytes=0-3", 206, slice(0, 4)),
        ("bytes=5-", 206, slice(5, None)),
        ("bytes=-4", 206, slice(-4, None)),
        ("bytes=2-1000000", 206, slice(2, None)),
        ("bytes=0-1,4-5", 200, slice(None)),  # multi-range: the whole file
        ("items=0-1", 200, slice(None)),  # not bytes: ignored
    ],
)
def test_download_ranges(upload, auth_client, header, status, expected):
    content = CSV_TEXT.encode()
    body = upload(content, name="a.csv", content_type="text/csv").json()
    response = auth_client.get(f"/api/v1/files/{body['id']}/download", HTTP_RANGE=header)
    assert response.status_code == status
    part = content[expected]
    assert _body(response) == part
    assert response["Content-Length"] == str(len(part))
    if status == 206:
        first = len(content) - len(part) if expected.start is None or expected.start < 0 else expected.start
        assert response["Content-Range"] == f"bytes {first}-{first + len(part) - 1}/{len(content)}"


def test_download_range_past_the_end_is_416(upload, auth_client):
    content = CSV_TEXT.encode()
    body = upload(content, name="a.csv", content_type="text/csv").json()
    response = auth_client.get(f"/api/v1/files/{body['id']}/download", HTTP_RANGE=f"bytes={len(content)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(content)}"
    assert problem(response)["code"] == "range_not_satisfiable"


def test_upload_needs_authentication(api_client):
    response = api_client.post("/api/v1/files/uploads", {}, format="multipart")
    assert response.status_code == 401


def test_upload_without_file_field_is_400(auth_client):
    response = auth_client.post("/api/v1/files/uploads", {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert problem(response)["errors"][0]["attr"] == "file"


@pytest.mark.parametrize(
    "content",
    [
        b"Notes abc\n.ab cd\n",  # libmagic: text/troff
        b"#include <stdio.h>\nint main(void) { return 0; }\n",  # text/x-c
        b"import os\ndef f():\n    return 1\n",  # text/x-script.python
        b"diff --git a/x b/x\n--- a/x\n+++ b/x\n",  # text/x-diff
    ],
)
def test_plain_text_that_libmagic_takes_for_a_program_or_a_manual_page_is_text(upload, content):
    response = upload(content, name="notes.txt", content_type="text/plain")
    assert response.status_code == 201, response.content
    assert response.json()["mime_type"] == "text/plain"


def test_a_shell_script_is_still_refused_as_what_it_is(upload):
    response = upload(b"#!/bin/sh\necho hi\n", name="notes.txt", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["detected_type"] == "text/x-shellscript"
