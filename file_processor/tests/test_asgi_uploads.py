"""Uploads through the real ASGI application, including chunked bodies that carry no Content-Length."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from channels.db import database_sync_to_async

from file_processor.models import StoredFile

pytestmark = pytest.mark.django_db(transaction=True)
BOUNDARY = "----files-test-boundary"


def _multipart(content: bytes, name: str = "data.csv", content_type: str = "text/csv") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def _chunks(body: bytes, size: int = 4096):
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def _post(token: str, body: bytes, chunked: bool) -> httpx.Response:
    from config.asgi import application

    transport = httpx.ASGITransport(app=application)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
        content = _chunks(body) if chunked else body
        return await client.post("/api/v1/files/uploads", content=content, headers=headers)


@pytest.mark.parametrize("chunked", [True, False])
async def test_upload_through_asgi_is_stored_with_its_checksum(user, make_access_token, chunked):
    token = await database_sync_to_async(make_access_token)(user)
    content = b"a,b\n" + b"1,2\n" * 5000
    response = await _post(token, _multipart(content), chunked=chunked)
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()


async def test_chunked_upload_over_the_file_limit_is_413_and_keeps_nothing(user, make_access_token, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 10_000
    token = await database_sync_to_async(make_access_token)(user)
    response = await _post(token, _multipart(b"a,b\n" + b"1,2\n" * 5000), chunked=True)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not await database_sync_to_async(StoredFile.objects.exists)()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


@pytest.mark.parametrize("chunked", [True, False])
async def test_the_routes_body_limit_refuses_before_django_reads(user, make_access_token, settings, chunked):
    """REQUEST_BODY_LIMITS["/api/v1/files/uploads"] (set by config/settings/files.py) is enforced by the
    serving layer, with or without Content-Length."""
    settings.REQUEST_BODY_LIMITS = {**settings.REQUEST_BODY_LIMITS, "/api/v1/files/uploads": 5000}
    token = await database_sync_to_async(make_access_token)(user)
    response = await _post(token, _multipart(b"a,b\n" + b"1,2\n" * 5000), chunked=chunked)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not await database_sync_to_async(StoredFile.objects.exists)()
