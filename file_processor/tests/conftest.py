from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def upload(auth_client):
    """`upload(content, name=..., content_type=...) -> response` through POST /api/v1/files/uploads."""

    def send(content: bytes, name: str = "sample.bin", content_type: str = "application/octet-stream", client=None):
        file = SimpleUploadedFile(name, content, content_type=content_type)
        return (client or auth_client).post("/api/v1/files/uploads", {"file": file}, format="multipart")

    return send


@pytest.fixture
def stored_keys(settings):
    """Every object key under MEDIA_ROOT (what storage holds), as a callable."""

    def keys() -> list[str]:
        root = settings.MEDIA_ROOT
        if not root.exists():
            return []
        return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())

    return keys


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/problem+json"), response.content[:300]
    return response.json()
