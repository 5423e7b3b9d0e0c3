"""common.wsgi.RequestGuardWSGI: the WSGI path refuses oversize bodies before Django reads them."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import RequestFactory

from common.wsgi import RequestGuardWSGI

pytestmark = pytest.mark.urls("common.tests.urls")

PING = "/api/v1/test/ping"


class CountingInput(io.BytesIO):
    """wsgi.input that counts what was read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def _call(app: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started["status"], started["headers"] = int(status.split()[0]), dict(headers)

    body = b"".join(app(environ, start_response))
    return started["status"], started["headers"], body


def _environ(path: str, body: bytes, **extra: str) -> dict[str, Any]:
    environ = RequestFactory().post(path, data=b"", content_type="application/json").environ
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"PATH_INFO": path, "CONTENT_TYPE": "application/json", "wsgi.input": CountingInput(body), **extra})
    return environ


def test_an_oversize_content_length_is_413_unread(settings):
    settings.API_MAX_BODY_BYTES = 64
    environ = _environ(PING, b"x" * 65, CONTENT_LENGTH="65")

    status, headers, body = _call(RequestGuardWSGI(lambda e, s: pytest.fail("reached Django")), environ)

    assert status == 413 and headers["Content-Type"] == "application/problem+json"
    assert headers["Connection"] == "close"
    assert json.loads(body)["code"] == "payload_too_large"
    assert environ["wsgi.input"].consumed == 0
    assert json.loads(body)["detail"] == "The request body is 65 bytes; the limit here is 64 bytes."


def test_an_oversize_chunked_body_is_413_after_at_most_the_limit_and_a_chunk(settings):
    settings.API_MAX_BODY_BYTES = 1000
    environ = _environ(PING, b"x" * 10_000_000, HTTP_TRANSFER_ENCODING="chunked")

    status, _headers, body = _call(RequestGuardWSGI(lambda e, s: pytest.fail("reached Django")), environ)

    assert status == 413 and json.loads(body)["code"] == "payload_too_large"
    assert environ["wsgi.input"].consumed <= 1000 + 64 * 1024


@pytest.mark.django_db
def test_a_chunked_json_body_within_the_limit_is_parsed(settings):
    from config.wsgi import application

    environ = _environ(PING, b'{"title": "hello"}', HTTP_TRANSFER_ENCODING="chunked")

    status, _headers, body = _call(application, environ)

    assert status == 200 and json.loads(body) == {"received": {"title": "hello"}}


def test_a_non_numeric_content_length_is_400(settings):
    environ = _environ(PING, b"", CONTENT_LENGTH="lots")
    status, _headers, body = _call(RequestGuardWSGI(lambda e, s: pytest.fail("reached Django")), environ)
    assert status == 400 and json.loads(body)["code"] == "bad_request"
