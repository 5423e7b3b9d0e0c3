"""S3 mode (django-storages + boto3 against moto's in-process S3): presigned POST, then completion."""

from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest
import requests

from file_processor.models import StoredFile

from .conftest import problem
from .samples import CSV_TEXT

moto = pytest.importorskip("moto")
pytestmark = pytest.mark.django_db
BUCKET = "files-test"


@pytest.fixture
def s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        settings.FILES_S3_BUCKET = BUCKET
        settings.FILES_S3_REGION = "us-east-1"
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": BUCKET, "region_name": "us-east-1", "file_overwrite": False},
            },
        }
        yield client


def _keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_presigned_post_then_complete_registers_the_object(s3, auth_client, api_client, upload):
    content = CSV_TEXT.encode()
    signed = auth_client.post(
        "/api/v1/files/uploads/signed-url",
        {"filename": "data.csv", "content_type": "text/csv", "size": len(content)},
        format="json",
    ).json()
    assert signed["method"] == "POST" and signed["headers"] == {}
    fields = signed["fields"]
    assert fields["Content-Type"] == "text/csv" and "policy" in fields and fields["key"].startswith("files/")
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, len(content)] in policy["conditions"]  # S3 enforces it (moto does not)
    posted = requests.post(signed["url"], data=fields, files={"file": ("data.csv", content)}, timeout=10)
    assert posted.status_code == 204  # the browser's (Uppy's) POST, answered by moto's S3
    from file_processor.models import DirectUploadToken
    from file_processor.services.direct import _signer

    token = _signer().sign(str(DirectUploadToken.objects.get().nonce))
    response = api_client.post(f"/api/v1/files/uploads/direct/{token}/complete")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest() and body["origin"] == "direct"
    stored = StoredFile.objects.get(pk=body["id"])
    assert _keys(s3) == [stored.storage_key] and stored.storage_key != fields["key"]  # staging key removed
    again = api_client.post(f"/api/v1/files/uploads/direct/{token}/complete")
    assert again.status_code == 409 and problem(again)["code"] == "upload_url_used"
    download = auth_client.get(f"/api/v1/files/{body['id']}/download")
    assert b"".join(download.streaming_content) == content


def test_completion_refuses_a_bad_object_and_removes_it(s3, auth_client, api_client):
    content = CSV_TEXT.encode()
    auth_client.post(
        "/api/v1/files/uploads/signed-url",
        {"filename": "x.png", "content_type": "image/png", "size": len(content)},
        format="json",
    )
    from file_processor.models import DirectUploadToken
    from file_processor.services.direct import _signer

    row = DirectUploadToken.objects.get()
    s3.put_object(Bucket=BUCKET, Key=row.storage_key, Body=content)
    response = api_client.post(f"/api/v1/files/uploads/direct/{_signer().sign(str(row.nonce))}/complete")
    assert response.status_code == 415
    assert _keys(s3) == [] and not StoredFile.objects.exists()


def test_completion_before_any_upload_is_409(s3, auth_client, api_client):
    auth_client.post(
        "/api/v1/files/uploads/signed-url", {"filename": "a.csv", "content_type": "text/csv", "size": 10}, format="json"
    )
    from file_processor.models import DirectUploadToken
    from file_processor.services.direct import _signer

    token = _signer().sign(str(DirectUploadToken.objects.get().nonce))
    response = api_client.post(f"/api/v1/files/uploads/direct/{token}/complete")
    assert response.status_code == 409 and problem(response)["code"] == "upload_missing"
