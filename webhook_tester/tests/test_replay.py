"""Replays: row first, sent through common.outbound (SSRF guard), the target's answer recorded."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from common.jobs import JobStatus
from webhook_tester import services
from webhook_tester.models import CapturedEvent, ReplayAttempt

from .conftest import capture, hook

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/bins"


@dataclass
class Receiver:
    port: int = 0
    seen: list[tuple[str, str, list[tuple[str, str]], bytes]] = field(default_factory=list)

    def url(self, path: str = "/in") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.seen.append((self.command, self.path, list(self.headers.items()), body))
            reply = b'{"received": true}' + b"x" * 100
            self.send_response(207)
            self.send_header("X-Reply", "yes")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _event(bin) -> CapturedEvent:
    capture(
        "POST",
        hook(bin, "/stripe"),
        query=b"attempt=1",
        headers=[
            (b"content-type", b"application/json"),
            (b"Stripe-Signature", b"t=1,v1=abc"),
            (b"connection", b"keep-alive, x-hop"),
            (b"x-hop", b"dropped"),
            (b"keep-alive", b"timeout=5"),
            (b"transfer-encoding", b"chunked"),
            (b"host", b"example.com"),
        ],
        chunks=[b'{"id": "evt_1"}\x00\xff'],
    )
    return CapturedEvent.objects.get(bin=bin)


def test_replay_to_a_local_receiver_is_recorded(auth_client, bin, receiver, settings):
    settings.BINS_REPLAY_BODY_EXCERPT_BYTES = 50
    event = _event(bin)
    response = auth_client.post(f"{API}/{bin.pk}/events/{event.pk}/replay", {"url": receiver.url()}, format="json")
    assert response.status_code == 202, response.json()
    replay = ReplayAttempt.objects.get(pk=response.json()["id"])
    assert replay.status == JobStatus.SUCCEEDED  # eager Celery ran it at commit
    assert replay.response_status == 207
    assert ["X-Reply", "yes"] in replay.response_headers
    assert bytes(replay.response_body_excerpt) == (b'{"received": true}' + b"x" * 100)[:50]
    assert replay.response_truncated is True
    assert replay.elapsed_ms is not None and replay.elapsed_ms >= 0
    method, path, headers, body = receiver.seen[0]
    assert (method, path, body) == ("POST", "/in?attempt=1", b'{"id": "evt_1"}\x00\xff')
    names = [name.lower() for name, _value in headers]
    assert "stripe-signature" in names and "content-type" in names
    for hop in ("keep-alive", "x-hop", "transfer-encoding"):
        assert hop not in names
    assert dict((k.lower(), v) for k, v in headers)["host"] == f"127.0.0.1:{receiver.port}"
    listed = auth_client.get(f"{API}/{bin.pk}/events/{event.pk}/replays").json()["items"]
    assert listed[0]["id"] == str(replay.pk) and listed[0]["response_status"] == 207
    detail = auth_client.get(f"{API}/{bin.pk}/events/{event.pk}/replays/{replay.pk}").json()
    assert detail["status"] == "succeeded"


def test_replay_defaults_to_the_bins_replay_url(auth_client, make_bin, user, receiver):
    bin = make_bin(user, replay_url=receiver.url("/default"))
    event = _event(bin)
    response = auth_client.post(f"{API}/{bin.pk}/events/{event.pk}/replay", {}, format="json")
    assert response.status_code == 202
    assert receiver.seen[0][1] == "/default?attempt=1"


def test_replay_without_any_url_is_400(auth_client, bin):
    event = _event(bin)
    response = auth_client.post(f"{API}/{bin.pk}/events/{event.pk}/replay", {}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "replay_url_missing"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ],
)
def test_ssrf_targets_are_refused_and_nothing_is_queued(auth_client, bin, url):
    event = _event(bin)
    response = auth_client.post(f"{API}/{bin.pk}/events/{event.pk}/replay", {"url": url}, format="json")
    assert response.status_code == 422, response.json()
    assert response.json()["errors"][0]["attr"] == "url"
    assert not ReplayAttempt.objects.exists()


def test_ssrf_default_replay_url_is_refused_when_stored(auth_client):
    response = auth_client.post(API, {"replay_url": "http://169.254.169.254/"}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["attr"] == "replay_url"


def test_a_target_that_turns_private_later_is_refused_at_send_time(bin, receiver, settings):
    event = _event(bin)
    replay = services.replay_create(bin=bin, event=event, target_url=receiver.url())
    ReplayAttempt.objects.filter(pk=replay.pk).update(status=JobStatus.QUEUED, attempts=0)
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = []  # e.g. DNS now answers with a private address
    done = services.replay_send(replay_id=replay.pk)
    assert done is not None and done.status == JobStatus.FAILED
    assert done.error_code == "url_host_not_allowed"


def test_unreachable_target_is_retried_then_failed(bin, settings):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.BINS_REPLAY_MAX_ATTEMPTS = 2
    event = _event(bin)
    replay = services.replay_create(bin=bin, event=event, target_url="http://127.0.0.1:9/closed")
    replay.refresh_from_db()
    assert replay.status == JobStatus.FAILED
    assert replay.attempts == 2
    assert replay.error_code == "connection_failed"


def test_hop_by_hop_headers_are_dropped():
    headers = [["Connection", "close, X-Secret"], ["X-Secret", "1"], ["TE", "trailers"], ["X-Keep", "2"], ["Host", "a"]]
    assert services.replay_headers(headers) == [("X-Keep", "2")]
