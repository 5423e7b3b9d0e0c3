"""The shared JSON parser: bad bodies are 400 malformed_json, never a 500."""

import io

import pytest
from rest_framework.exceptions import ParseError, UnsupportedMediaType

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


@pytest.mark.parametrize(
    "media_type", ["application/json", "application/json; charset=utf-8", 'application/json; charset="UTF8"']
)
def test_utf8_json_parses(media_type):
    body = '{"name": "café"}'.encode()
    assert JSONParser().parse(io.BytesIO(body), media_type, {"encoding": "latin-1"}) == {"name": "café"}


@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", "utf-16", "cp1252", "bogus"])
def test_json_in_another_charset_is_415(charset):
    with pytest.raises(UnsupportedMediaType, match="UTF-8"):
        JSONParser().parse(io.BytesIO(b'{"name": "caf\xe9"}'), f"application/json; charset={charset}")


@pytest.mark.django_db
def test_a_latin1_labelled_body_is_415_problem_and_nothing_is_stored(auth_client):
    # DRF decoded by the label: UTF-8 "café" sent as charset=latin-1 was stored as "cafÃ©".
    response = auth_client.post(
        "/api/v1/bins", data='{"name": "café"}'.encode(), content_type="application/json; charset=latin-1"
    )
    assert response.status_code == 415
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "unsupported_media_type"
    assert auth_client.get("/api/v1/bins").json()["items"] == []
