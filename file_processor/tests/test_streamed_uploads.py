"""Upload bodies streamed from ASGI `receive` to the upload's file (REQUEST_BODY_STREAMED), through the real
ASGI application (config.asgi: RequestGuard, the handler, middleware, DRF, storage).

The body comes from a generator pulled one 64 KiB message at a time, so `received` says how much of
it the server had asked for when it answered.

Written once: `/proc/self/io`'s `wchar` counts the bytes this process passed to write(2) and its kin
(files and pipes; the PostgreSQL and Redis clients use send(2), which it does not count). The body is
built in memory and nothing else in the process writes while the request runs but a few log lines and,
embedded, SQLite's pages, so the delta is at least the body (it reached the disk) and, if any step wrote
it again (Django's spool of the whole body, storage copying the temporary file instead of moving it),
at least twice the body. Between one and 1.5 times means once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.signals import request_finished

from common.tests.asgi_driver import exchange, http_scope
from file_processor import services
from file_processor.models import StoredFile

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "----streamed-upload-boundary"
MiB = 1024 * 1024
MESSAGE = 64 * 1024
BLOCK = (b"0123456789abcdef" * 4096)[:MESSAGE]  # plain text
HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
    "Content-Type: text/plain\r\n\r\n"
).encode()
TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def _file_bytes(size: int) -> Iterator[bytes]:
    for _ in range(size // MESSAGE):
        yield BLOCK


def _multipart(size: int) -> Iterator[bytes]:
    yield HEAD
    yield from _file_bytes(size)
    yield TAIL


def _sha256(size: int) -> str:
    digest = hashlib.sha256()
    for block in _file_bytes(size):
        digest.update(block)
    return digest.hexdigest()


def _wchar() -> int:
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        pytest.skip("needs Linux's /proc/self/io")
    return next(int(line.split()[1]) for line in text.splitlines() if line.startswith("wchar:"))


@pytest.fixture
def app():
    from config.asgi import application

    return application


@pytest.fixture
def files_on_disk(settings):
    """Every file under MEDIA_ROOT (stored objects and the `.incoming` uploads in progress), as a callable."""

    def files() -> list[Path]:
        root = Path(settings.MEDIA_ROOT)
        return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []

    return files


@pytest.fixture
def request_thread():
    """The thread that ran the last request's sync code (its request_finished receivers run there)."""
    seen: list[threading.Thread] = []

    def record(**kwargs: Any) -> None:
        seen.append(threading.current_thread())

    request_finished.connect(record, dispatch_uid="test_streamed_uploads.record")
    yield seen
    request_finished.disconnect(dispatch_uid="test_streamed_uploads.record")


async def _token(user, make_access_token) -> str:
    return await database_sync_to_async(make_access_token)(user)


def _upload_scope(token: str | None, size: int, *, chunked: bool) -> dict[str, Any]:
    headers = [("content-type", f"multipart/form-data; boundary={BOUNDARY}")]
    if token:
        headers.append(("authorization", f"Bearer {token}"))
    if chunked:
        headers.append(("transfer-encoding", "chunked"))
    else:
        headers.append(("content-length", str(len(HEAD) + size + len(TAIL))))
    return http_scope("/api/v1/files/uploads", headers=headers)


async def _stored_count() -> int:
    return await database_sync_to_async(StoredFile.objects.count)()


# --- POST /uploads ------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_large_upload_is_written_to_disk_once(app, user, make_access_token, files_on_disk, chunked):
    size = 32 * MiB
    token = await _token(user, make_access_token)

    before = _wchar()
    result = await exchange(app, _upload_scope(token, size, chunked=chunked), _multipart(size))
    written = _wchar() - before

    assert result.status == 201, result.body
    assert result.json()["size"] == size and result.json()["sha256"] == _sha256(size)
    assert size <= written < 1.5 * size, f"{written / size:.2f}x the file was written"
    stored = [path for path in files_on_disk() if ".incoming" not in path.parts]
    assert len(stored) == 1 and stored[0].stat().st_size == size
    assert stored == files_on_disk()  # the temporary file became the stored one


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_upload_over_the_file_limit_is_refused_before_the_rest_is_read(
    app, user, make_access_token, settings, files_on_disk, request_thread, chunked
):
    settings.FILES_MAX_UPLOAD_BYTES = 1 * MiB
    size = 16 * MiB
    token = await _token(user, make_access_token)

    result = await exchange(app, _upload_scope(token, size, chunked=chunked), _multipart(size))

    assert result.status == 413, result.body
    assert result.json()["code"] == "payload_too_large"
    assert result.headers["connection"] == "close"  # the server closes instead of reading the rest
    # The file limit, the bytes queued for the view (ASGI_STREAMED_BODY_BUFFER_BYTES) and a message in hand.
    assert result.received <= 1 * MiB + settings.ASGI_STREAMED_BODY_BUFFER_BYTES + 2 * MESSAGE
    assert await _stored_count() == 0
    assert files_on_disk() == []
    assert request_thread and not request_thread[-1].is_alive()


async def test_an_unauthenticated_upload_is_401_without_reading_the_body(app, files_on_disk):
    size = 64 * MiB

    result = await exchange(app, _upload_scope(None, size, chunked=False), _multipart(size))

    assert result.status == 401 and result.json()["code"] == "not_authenticated"
    assert result.received == 0
    assert result.headers["connection"] == "close"
    assert files_on_disk() == []


async def test_a_rate_limited_upload_is_429_without_reading_the_body(app, user, make_access_token, settings):
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_USER = "1/1d"
    token = await _token(user, make_access_token)
    first = await exchange(app, _upload_scope(token, MESSAGE, chunked=False), _multipart(MESSAGE))
    assert first.status == 201, first.body

    result = await exchange(app, _upload_scope(token, 64 * MiB, chunked=False), _multipart(64 * MiB))

    assert result.status == 429 and result.json()["code"] == "rate_limited"
    assert result.received == 0


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_client_gone_mid_upload_leaves_nothing_behind(
    app, user, make_access_token, files_on_disk, request_thread, chunked
):
    size = 16 * MiB
    token = await _token(user, make_access_token)

    result = await exchange(
        app, _upload_scope(token, size, chunked=chunked), _multipart(size), disconnect_after=4 * MiB
    )  # returns within the driver's deadline: the handler did not wait for a body that will never come

    assert result.status == 0  # nobody to answer
    assert result.received < 5 * MiB
    assert await _stored_count() == 0
    assert files_on_disk() == []
    assert request_thread and not request_thread[-1].is_alive()  # joined, not left waiting for the body


async def test_an_upload_that_stops_arriving_is_408_and_leaves_nothing(
    app, user, make_access_token, settings, files_on_disk
):
    settings.REQUEST_BODY_IDLE_TIMEOUT_SECONDS = 0.3
    size = 16 * MiB
    token = await _token(user, make_access_token)

    result = await exchange(app, _upload_scope(token, size, chunked=False), _multipart(size), stall_after=2 * MiB)

    assert result.status == 408 and result.json()["code"] == "request_timeout"
    assert result.headers["connection"] == "close"
    assert await _stored_count() == 0
    assert files_on_disk() == []


# --- PUT /uploads/direct/{token} --------------------------------------------------------------------------


async def _direct_path(user, size: int) -> str:
    signed = await database_sync_to_async(services.direct_upload_start)(
        user=user, filename="big.txt", content_type="text/plain", size=size, base_url="http://testserver"
    )
    return signed["url"].removeprefix("http://testserver")


def _direct_scope(path: str, length: int | None) -> dict[str, Any]:
    headers = [("content-type", "text/plain")]
    headers.append(("content-length", str(length)) if length is not None else ("transfer-encoding", "chunked"))
    return http_scope(path, method="PUT", headers=headers)


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_large_direct_upload_is_written_to_disk_once(app, user, files_on_disk, chunked):
    size = 32 * MiB
    path = await _direct_path(user, size)

    before = _wchar()
    result = await exchange(app, _direct_scope(path, None if chunked else size), _file_bytes(size))
    written = _wchar() - before

    assert result.status == 201, result.body
    assert result.json()["sha256"] == _sha256(size)
    assert size <= written < 1.5 * size, f"{written / size:.2f}x the file was written"
    assert [path.stat().st_size for path in files_on_disk()] == [size]


async def test_a_chunked_direct_upload_past_its_signed_size_is_refused_mid_stream(
    app, user, settings, files_on_disk, request_thread
):
    signed_size = 1 * MiB
    path = await _direct_path(user, signed_size)

    result = await exchange(app, _direct_scope(path, None), _file_bytes(16 * MiB))

    assert result.status == 413 and result.json()["code"] == "payload_too_large"
    assert result.headers["connection"] == "close"
    assert result.received <= signed_size + settings.ASGI_STREAMED_BODY_BUFFER_BYTES + 2 * MESSAGE
    assert await _stored_count() == 0
    assert files_on_disk() == []
    assert request_thread and not request_thread[-1].is_alive()


async def test_a_direct_upload_with_a_bad_token_is_refused_without_reading_the_body(app, files_on_disk):
    result = await exchange(
        app, _direct_scope("/api/v1/files/uploads/direct/not-a-token", 64 * MiB), _file_bytes(64 * MiB)
    )

    assert result.status == 403 and result.json()["code"] == "upload_url_invalid"
    assert result.received == 0


async def test_a_client_gone_mid_direct_upload_leaves_nothing_behind(app, user, files_on_disk, request_thread):
    size = 16 * MiB
    path = await _direct_path(user, size)

    result = await exchange(app, _direct_scope(path, size), _file_bytes(size), disconnect_after=4 * MiB)

    assert result.status == 0
    assert await _stored_count() == 0
    assert files_on_disk() == []
    assert request_thread and not request_thread[-1].is_alive()
