"""Signed direct uploads: single use, expiring, exactly the declared size, the same checks as multipart."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from file_processor.models import DirectUploadToken, StoredFile

from .conftest import problem
from .samples import CSV_TEXT, image_bytes

pytestmark = pytest.mark.django_db


def _sign(client, content: bytes, content_type: str = "text/csv", name: str = "data.csv"):
    response = client.post(
        "/api/v1/files/uploads/signed-url",
        {"filename": name, "content_type": content_type, "size": len(content)},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _put(api_client, url: str, content: bytes, content_type: str = "text/csv"):
    path = url.split("://", 1)[1].split("/", 1)[1]
    return api_client.generic("PUT", "/" + path, content, content_type=content_type)


def test_signed_put_round_trip_works_once(auth_client, api_client, user, stored_keys):
    content = CSV_TEXT.encode()
    signed = _sign(auth_client, content)
    assert signed["method"] == "PUT" and signed["fields"] == {}
    assert signed["expires_at"].endswith("Z")  # UTC with Z, as every time the API shows
    assert signed["headers"] == {"Content-Type": "text/csv"}
    assert signed["url"].startswith("http://testserver/api/v1/files/uploads/direct/")
    response = _put(api_client, signed["url"], content)  # no credentials: the URL is the credential
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["origin"] == "direct" and body["url"].endswith("/download")
    assert StoredFile.objects.get(pk=body["id"]).owner == user
    again = _put(api_client, signed["url"], content)
    assert again.status_code == 409
    assert problem(again)["code"] == "upload_url_used"
    assert len(stored_keys()) == 1


def test_tampered_token_is_403(auth_client, api_client, stored_keys):
    signed = _sign(auth_client, b"a,b\n1,2\n")
    response = _put(api_client, signed["url"][:-2] + "xx", b"a,b\n1,2\n")
    assert response.status_code == 403
    assert problem(response)["code"] == "upload_url_invalid"
    assert stored_keys() == []


def test_expired_token_is_410(auth_client, api_client, stored_keys):
    content = b"a,b\n1,2\n"
    signed = _sign(auth_client, content)
    DirectUploadToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _put(api_client, signed["url"], content)
    assert response.status_code == 410
    assert problem(response)["code"] == "upload_url_expired"
    assert stored_keys() == []


def test_body_larger_than_signed_size_is_413(auth_client, api_client, stored_keys):
    signed = _sign(auth_client, b"a,b\n1,2\n")
    response = _put(api_client, signed["url"], b"a,b\n1,2\n3,4\n")
    assert response.status_code == 413
    assert stored_keys() == []


def test_body_smaller_than_signed_size_is_400(auth_client, api_client, stored_keys):
    signed = _sign(auth_client, b"a,b\n1,2\n3,4\n")
    response = _put(api_client, signed["url"], b"a,b\n1,2\n")
    assert response.status_code == 400
    assert problem(response)["code"] == "size_mismatch"
    assert stored_keys() == []


def test_content_that_contradicts_the_signed_type_is_415(auth_client, api_client, stored_keys):
    content = CSV_TEXT.encode()
    signed = _sign(auth_client, content, content_type="image/png", name="x.png")
    response = _put(api_client, signed["url"], content, content_type="image/png")
    assert response.status_code == 415
    assert problem(response)["code"] == "content_type_mismatch"
    assert stored_keys() == []


def test_signing_refuses_oversize_and_unaccepted_types(auth_client, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 100
    too_big = auth_client.post(
        "/api/v1/files/uploads/signed-url",
        {"filename": "a.csv", "content_type": "text/csv", "size": 101},
        format="json",
    )
    assert too_big.status_code == 413
    exe = auth_client.post(
        "/api/v1/files/uploads/signed-url",
        {"filename": "a.exe", "content_type": "application/x-msdownload", "size": 10},
        format="json",
    )
    assert exe.status_code == 415


def test_image_via_signed_url_keeps_image_metadata(auth_client, api_client):
    content = image_bytes("WEBP", (20, 10))
    signed = _sign(auth_client, content, content_type="image/webp", name="a.webp")
    response = _put(api_client, signed["url"], content, content_type="image/webp")
    assert response.status_code == 201
    assert response.json()["metadata"]["width"] == 20


def test_signed_url_refusals_are_documented_statuses(auth_client, api_client, settings, openapi_conformance):
    # The schema listed none of these; a client generated from it had no case for them.
    put_path = "/api/v1/files/uploads/direct/{token}"
    content = b"a,b\n1,2\n"
    signed = _sign(auth_client, content)
    tampered = _put(api_client, signed["url"][:-2] + "xx", content)
    assert tampered.status_code == 403
    openapi_conformance(tampered, put_path, "put")
    assert _put(api_client, signed["url"], content).status_code == 201
    used = _put(api_client, signed["url"], content)
    assert used.status_code == 409
    openapi_conformance(used, put_path, "put")
    signed = _sign(auth_client, content)
    DirectUploadToken.objects.filter(used_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = _put(api_client, signed["url"], content)
    assert expired.status_code == 410
    openapi_conformance(expired, put_path, "put")

    token = signed["url"].rsplit("/", 1)[1]
    local = api_client.post(f"/api/v1/files/uploads/direct/{token}/complete")
    assert local.status_code == 409 and problem(local)["code"] == "not_s3"
    openapi_conformance(local, put_path + "/complete", "post")

    exe = auth_client.post(
        "/api/v1/files/uploads/signed-url",
        {"filename": "a.exe", "content_type": "application/x-msdownload", "size": 10},
        format="json",
    )
    assert exe.status_code == 415
    openapi_conformance(exe, "/api/v1/files/uploads/signed-url", "post")
