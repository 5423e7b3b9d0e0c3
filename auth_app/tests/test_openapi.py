"""Every Auth API operation is documented: summary, tag, success and error responses."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/auth/register", "post"): "201",
    ("/api/v1/auth/login", "post"): "200",
    ("/api/v1/auth/refresh", "post"): "200",
    ("/api/v1/auth/logout", "post"): "204",
    ("/api/v1/auth/logout-all", "post"): "204",
    ("/api/v1/auth/users/me", "get"): "200",
    ("/api/v1/auth/users/me", "patch"): "200",
    ("/api/v1/auth/password/change", "post"): "204",
    ("/api/v1/auth/password/reset", "post"): "202",
    ("/api/v1/auth/password/reset/confirm", "post"): "204",
    ("/api/v1/auth/sessions", "get"): "200",
    ("/api/v1/auth/sessions/{id}", "delete"): "204",
    ("/api/v1/auth/api-keys", "get"): "200",
    ("/api/v1/auth/api-keys", "post"): "201",
    ("/api/v1/auth/api-keys/{id}", "delete"): "204",
}


def test_every_auth_operation_is_documented(client):
    schema = client.get("/openapi.json").json()
    for (path, method), success in OPERATIONS.items():
        operation = schema["paths"][path][method]
        assert operation["tags"] == ["auth"], path
        assert operation.get("summary"), path
        responses = operation["responses"]
        assert success in responses, (path, method)
        assert "429" in responses, (path, method)
        assert any(code.startswith("4") for code in responses if code != "429"), (path, method)
