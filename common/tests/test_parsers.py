"""The shared JSON parser: bad bodies are 400 malformed_json, never a 500."""

import io

import pytest
from rest_framework.exceptions import ParseError

from common.parsers import JSONParser


def test_valid_json_parses():
    assert JSONParser().parse(io.BytesIO(b'{"a": [1, 2]}')) == {"a": [1, 2]}


@pytest.mark.parametrize(
    "body",
    [b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000],
    ids=["nested-arrays", "nested-objects"],
)
def test_deep_nesting_is_a_parse_error(body):
    with pytest.raises(ParseError, match="JSON"):
        JSONParser().parse(io.BytesIO(body))


def test_bad_utf8_is_a_parse_error():
    with pytest.raises(ParseError, match="JSON"):
        JSONParser().parse(io.BytesIO(b'{"a": "\xff\xfe"}'))


@pytest.mark.django_db
def test_deeply_nested_body_is_400_problem(api_client, user):
    api_client.force_authenticate(user)
    response = api_client.post(
        "/api/v1/notifications", data=b"[" * 10_000 + b"]" * 10_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "malformed_json"
