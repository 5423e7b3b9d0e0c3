"""Text PostgreSQL cannot store is a 400 on every Auth API field, never a 500 (common/serializers.py)."""

import pytest

from .conftest import API, bearer

pytestmark = pytest.mark.django_db

UNSTORABLE = [b"nul\\u0000", b"lone \\ud800"]


@pytest.mark.parametrize("text", UNSTORABLE)
def test_register_refuses_unstorable_text_in_any_field(api_client, text):
    for field in (b"name", b"email", b"password"):
        body = {b"name": b"Ada", b"email": b"ada@example.com", b"password": b"a-sturdy-passphrase-42"}
        body[field] = text if field != b"email" else b"a" + text + b"@example.com"
        raw = b"{" + b", ".join(b'"%s": "%s"' % item for item in body.items()) + b"}"
        response = api_client.post(f"{API}/register", data=raw, content_type="application/json")
        assert response.status_code == 400, (field, response.content)
        assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("text", UNSTORABLE)
def test_profile_update_refuses_unstorable_text(api_client, tokens, text):
    raw = b'{"name": "%s"}' % text
    response = bearer(api_client, tokens["access"]).patch(f"{API}/users/me", data=raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
