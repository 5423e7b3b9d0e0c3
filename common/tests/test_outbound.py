"""common.outbound: the SSRF guard and the pinned-address client, against a real local receiver.

Only DNS is faked (at `socket.getaddrinfo`, the boundary to remote resolvers); every request goes
over a real socket to a threading HTTP(S) server on 127.0.0.1, which the tests allow through
OUTBOUND_ALLOWED_PRIVATE_HOSTS.
"""

import datetime as dt
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from common.outbound import OutboundBlocked, OutboundError, outbound_request, outbound_url_check
from common.outbound import client as outbound_client
from common.outbound.addresses import ALWAYS_BLOCKED, BLOCKED_V4, BLOCKED_V6, address_blocked_reason, parse_target

# --- a local receiver ----------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    huge_done: threading.Event = field(default_factory=threading.Event)
    huge_sent_all: bool | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def _handler(receiver_ref: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _any(self) -> None:
            receiver = receiver_ref[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            receiver.seen.append(Seen(self.command, self.path, list(self.headers.items()), body))
            if self.path.startswith("/redirect"):
                self._answer(302, b"", [("Location", f"http://127.0.0.1:{receiver.port}/secret")])
            elif self.path.startswith("/slow"):
                receiver.release.wait(10)
                self._answer(200, b"late")
            elif self.path.startswith("/drip"):  # one byte per 20 ms, each well within the read timeout
                head = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"p" * 80 + b"\r\nContent-Length: 150\r\n\r\n"
                dripped = head + b"x" * 150 if self.path == "/drip-head" else b"x" * 150  # ~3 s or ~5 s
                try:
                    if self.path != "/drip-head":
                        self.wfile.write(head)
                    for byte in dripped:
                        if receiver.release.wait(0.02):
                            break
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True
            elif self.path.startswith("/huge"):  # 32 MiB, more than loopback socket buffers hold
                self.send_response(200)
                self.send_header("Content-Length", str(32 * 1024 * 1024))
                self.end_headers()
                try:
                    for _ in range(32):
                        self.wfile.write(b"h" * 1024 * 1024)
                    receiver.huge_sent_all = True
                except OSError:
                    receiver.huge_sent_all = False
                receiver.huge_done.set()
                self.close_connection = True
            elif self.path.startswith("/endless"):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 16384
                try:
                    while not receiver.release.is_set():
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:
                    pass
                self.close_connection = True
            else:
                self._answer(201, b'{"ok":true}', [("X-Reply", "Yes"), ("Content-Type", "application/json")])

        def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_PURGE = _any

    return Handler


def _start(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    ref: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver = Receiver(server)
    ref.append(receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    yield from _start()


@pytest.fixture
def fake_dns(monkeypatch) -> dict[str, list[str]]:
    """host -> addresses; each name may be looked up once (a second lookup would be a rebinding hole).

    Patched on the socket module itself, so a lookup by httpx/httpcore would be seen too.
    """
    table: dict[str, list[str]] = {}
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        try:  # the connection itself: httpcore passes the pinned address, a numeric host
            ipaddress.ip_address(host)
            return real_getaddrinfo(host, port, *args, **kwargs)
        except ValueError:
            pass
        assert host not in looked_up, f"{host} resolved twice"
        looked_up.append(host)
        if host == "localhost":  # the real resolver (/etc/hosts): a name that resolves to loopback
            return real_getaddrinfo(host, port, *args, **kwargs)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]
        ]

    monkeypatch.setattr(outbound_client.socket, "getaddrinfo", getaddrinfo)
    return table


# --- refused targets (issue 11's hostile list and more) -------------------------------------------

HOSTILE = [
    ("http://127.0.0.1/", "url_host_not_allowed"),
    ("http://[::ffff:127.0.0.1]/", "url_host_not_allowed"),
    ("http://[::FFFF:7f00:1]:8080/", "url_host_not_allowed"),
    ("http://[::1]/", "url_host_not_allowed"),
    ("http://169.254.169.254/latest/meta-data/", "url_host_not_allowed"),
    ("http://[fd00:ec2::254]/", "url_host_not_allowed"),
    ("http://0x7f000001/", "url_host_not_allowed"),
    ("http://2130706433/", "url_host_not_allowed"),
    ("http://0177.0.0.1/", "url_host_not_allowed"),
    ("http://127.1/", "url_host_not_allowed"),
    ("http://0/", "url_host_not_allowed"),
    ("http://10.0.0.1/", "url_host_not_allowed"),
    ("http://100.64.0.1/", "url_host_not_allowed"),
    ("http://192.168.1.1./", "url_host_not_allowed"),
    ("http://\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11/", "url_host_not_allowed"),  # fullwidth
    ("http://0.0.0.0:8000/", "url_host_not_allowed"),
    ("http://[::]/", "url_host_not_allowed"),
    ("http://224.0.0.1/", "url_host_not_allowed"),
    ("http://[2002:7f00:1::1]/", "url_host_not_allowed"),
    ("http://[64:ff9b::169.254.169.254]/", "url_host_not_allowed"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "url_host_not_allowed"),  # Teredo, client 127.0.0.1
    ("http://[fe80::1]/", "url_host_not_allowed"),
    ("http://[fd12:3456::1]/", "url_host_not_allowed"),
    ("http://[ff02::1]/", "url_host_not_allowed"),
    ("http://255.255.255.255/", "url_host_not_allowed"),
    ("http://172.31.255.255/", "url_host_not_allowed"),
    ("http://localhost/", "url_host_not_allowed"),
    ("HTTP://LOCALHOST./", "url_host_not_allowed"),
    ("http://evil@127.0.0.1/", "url_invalid"),
    ("http://user:pass@example.com/", "url_invalid"),
    ("http://127.0.0.1\\@example.com/", "url_invalid"),
    ("http://[fe80::1%25eth0]/", "url_invalid"),
    ("http://%31%32%37.0.0.1/", "url_invalid"),
    ("http://256.0.0.1/", "url_invalid"),
    ("http://1.2.3.4.5/", "url_invalid"),
    ("http://08.0.0.1/", "url_invalid"),
    ("http://example.com:0/", "url_invalid"),
    ("http://example.com:99999/", "url_invalid"),
    ("http:///path", "url_invalid"),
    ("http:example.com", "url_invalid"),
    ("http://exa mple.com/", "url_invalid"),
    ("http://example.com/\r\nX-Injected: 1", "url_invalid"),
    ("", "url_invalid"),
    ("file:///etc/passwd", "url_scheme_not_allowed"),
    ("FILE:///etc/passwd", "url_scheme_not_allowed"),
    ("gopher://127.0.0.1:6379/_INFO", "url_scheme_not_allowed"),
    ("ftp://example.com/", "url_scheme_not_allowed"),
    ("dict://127.0.0.1:11211/", "url_scheme_not_allowed"),
    ("//example.com/", "url_scheme_not_allowed"),
    ("http://nonexistent.invalid/", "url_unresolvable"),
]


@pytest.mark.parametrize(("url", "code"), HOSTILE)
def test_hostile_targets_are_refused_with_a_stable_code(fake_dns, url, code):
    with pytest.raises(OutboundBlocked) as check:
        outbound_url_check(url)
    assert check.value.code == code


@pytest.mark.parametrize(("url", "code"), HOSTILE)
def test_hostile_targets_are_refused_by_the_request_before_any_connection(fake_dns, monkeypatch, url, code):
    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(outbound_client.httpx.Client, "send", no_connection)
    with pytest.raises(OutboundBlocked) as refused:
        outbound_request(method="POST", url=url, body=b"x")
    assert refused.value.code == code


def test_a_name_is_refused_when_any_address_it_resolves_to_is_blocked(fake_dns):
    fake_dns["mixed.test"] = ["93.184.215.14", "127.0.0.1"]
    with pytest.raises(OutboundBlocked) as refused:
        outbound_url_check("https://mixed.test/hook")
    assert refused.value.code == "url_host_not_allowed"
    assert "127.0.0.1" in refused.value.detail


@pytest.mark.parametrize("url", ["http://evil@127.0.0.1/", "http://user:pw@93.184.215.14/", "https://a@b@example.com/"])
def test_credentials_in_the_url_are_refused_as_such(url):
    with pytest.raises(OutboundBlocked) as refused:
        outbound_url_check(url)
    assert (refused.value.code, refused.value.detail.split(" ")[0]) == ("url_invalid", "Credentials")


def test_the_request_checks_again_so_a_name_rebound_after_the_input_check_is_refused(monkeypatch):
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])  # public when validated, loopback when sent

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    monkeypatch.setattr(outbound_client.socket, "getaddrinfo", rebinding_getaddrinfo)
    monkeypatch.setattr(outbound_client.httpx.Client, "send", lambda *a, **k: pytest.fail("connected"))
    outbound_url_check("http://rebind.example/hook")
    with pytest.raises(OutboundBlocked) as refused:
        outbound_request(method="POST", url="http://rebind.example/hook", body=b"{}")
    assert refused.value.code == "url_host_not_allowed"


def test_a_public_name_passes_the_check(fake_dns):
    fake_dns["hooks.example.com"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    outbound_url_check("https://hooks.example.com/callback?x=1")


def test_metadata_addresses_stay_refused_even_when_allowed_by_network(settings):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["169.254.0.0/16", "fd00::/8", "0.0.0.0/0"]
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://0.0.0.0/", "http://[::ffff:a9fe:a9fe]/"):
        with pytest.raises(OutboundBlocked):
            outbound_url_check(url)
    outbound_url_check("http://169.254.1.1/")  # the rest of the allowed network is allowed


def test_allowed_private_host_by_name_only_covers_that_name(settings, fake_dns):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["receiver.internal"]
    fake_dns["receiver.internal"] = ["10.1.2.3"]
    fake_dns["other.internal"] = ["10.1.2.3"]
    outbound_url_check("http://RECEIVER.internal./x")
    with pytest.raises(OutboundBlocked):
        outbound_url_check("http://other.internal/x")
    with pytest.raises(OutboundBlocked):
        outbound_url_check("http://10.1.2.3/x")


def test_blocked_is_a_422_problem_and_a_field_error():
    with pytest.raises(OutboundBlocked) as refused:
        outbound_url_check("http://127.0.0.1/")
    assert refused.value.status == 422
    assert refused.value.as_field_error("callback_url") == {
        "attr": "callback_url",
        "code": "url_host_not_allowed",
        "detail": refused.value.detail,
    }


def test_numeric_hosts_are_normalised():
    assert parse_target("http://0x5DB8D70E:8080/a?b").host == "93.184.215.14"
    assert parse_target("http://1572394766/").host == "93.184.215.14"
    assert parse_target("http://93.0xb8.0153416/").host == "93.184.215.14"
    assert parse_target("http://[2606:2800:21F:CB07::1]/").host_header == "[2606:2800:21f:cb07::1]"
    assert parse_target("https://Bücher.example/").host == "xn--bcher-kva.example"


# --- requests to a local receiver ------------------------------------------------------------------


def test_receiver_gets_method_headers_and_body_exactly(receiver):
    body = bytes(range(256)) * 3 + b"\r\n\x00end"
    headers = [("X-Custom-Case", "Value One"), ("x-lower", "two"), ("X-Custom-Case", "again"), ("Content-Type", "a/b")]
    response = outbound_request(method="PURGE", url=receiver.url("/in/path?q=1&q=2"), headers=headers, body=body)
    assert response.status == 201
    assert response.body == b'{"ok":true}'
    assert ("X-Reply", "Yes") in response.headers
    assert response.truncated is False
    assert response.elapsed_ms > 0
    [seen] = receiver.seen
    assert (seen.method, seen.path, seen.body) == ("PURGE", "/in/path?q=1&q=2", body)
    assert seen.headers[0] == ("Host", f"127.0.0.1:{receiver.port}")
    assert [h for h in seen.headers if h[0].lower() not in {"host", "content-length"}] == headers
    assert ("Content-Length", str(len(body))) in seen.headers


def test_user_urls_and_their_secrets_stay_out_of_the_logs(receiver, caplog):
    with caplog.at_level(logging.DEBUG):
        outbound_request(method="POST", url=receiver.url("/hook?token=s3cr3t-in-query"), body=b"{}")
    assert "s3cr3t" not in caplog.text


def test_callers_host_and_framing_headers_are_replaced(receiver):
    outbound_request(
        method="POST",
        url=receiver.url("/"),
        headers=[("Host", "internal.admin"), ("Content-Length", "1"), ("Transfer-Encoding", "chunked")],
        body=b"four",
    )
    [seen] = receiver.seen
    assert dict(seen.headers) == {"Host": f"127.0.0.1:{receiver.port}", "Content-Length": "4"}
    assert seen.body == b"four"


def test_the_connection_goes_to_the_checked_address_with_the_original_host_header(receiver, settings, fake_dns):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["hooks.test"]
    fake_dns["hooks.test"] = ["127.0.0.1"]  # fake_dns fails the test on a second lookup (rebinding)
    response = outbound_request(method="GET", url=receiver.url("/x", host="hooks.test"))
    assert response.status == 201
    assert dict(receiver.seen[0].headers)["Host"] == f"hooks.test:{receiver.port}"


def test_a_redirect_is_returned_not_followed(receiver):
    response = outbound_request(method="GET", url=receiver.url("/redirect"))
    assert response.status == 302
    assert ("Location", f"http://127.0.0.1:{receiver.port}/secret") in response.headers
    assert [s.path for s in receiver.seen] == ["/redirect"]


def test_a_slow_target_times_out(receiver):
    with pytest.raises(OutboundError) as failed:
        outbound_request(method="GET", url=receiver.url("/slow"), timeout=0.3)
    assert failed.value.code == "timeout"


@pytest.mark.parametrize("path", ["/drip-head", "/drip-body"])
def test_a_target_dripping_bytes_is_cut_off_at_the_overall_deadline(receiver, settings, path):
    settings.OUTBOUND_CONNECT_TIMEOUT_SECONDS = 0.2
    started = time.monotonic()
    with pytest.raises(OutboundError) as failed:
        outbound_request(method="GET", url=receiver.url(path), timeout=0.4)
    assert failed.value.code == "timeout"
    assert time.monotonic() - started < 1.5  # connect (0.2) + read (0.4) budget, not the 3-5 s drip


def test_a_hanging_dns_lookup_is_given_the_connect_timeout(settings, monkeypatch):
    settings.OUTBOUND_CONNECT_TIMEOUT_SECONDS = 0.2
    never = threading.Event()
    monkeypatch.setattr(outbound_client.socket, "getaddrinfo", lambda *a, **k: never.wait(5))
    try:
        with pytest.raises(OutboundBlocked) as refused:
            outbound_request(method="GET", url="http://slow-dns.test/")
        assert refused.value.code == "url_unresolvable"
    finally:
        never.set()


def test_the_next_checked_address_is_tried_when_one_refuses_the_connection(receiver, settings, fake_dns):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.0/8"]
    fake_dns["two.test"] = ["127.0.0.2", "127.0.0.1"]  # the receiver listens on 127.0.0.1 only
    response = outbound_request(method="POST", url=receiver.url("/", host="two.test"), body=b"once")
    assert response.status == 201
    assert [s.body for s in receiver.seen] == [b"once"]


def test_the_response_body_is_capped_and_an_endless_body_is_not_read_to_the_end(receiver, settings):
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 50_000
    response = outbound_request(method="GET", url=receiver.url("/endless"), timeout=5)
    assert response.status == 200
    assert response.truncated is True
    assert response.body == b"x" * 50_000
    small = outbound_request(method="GET", url=receiver.url("/endless"), max_body=10, timeout=5)
    assert (small.body, small.truncated) == (b"x" * 10, True)


def test_no_more_than_about_the_cap_is_read_from_the_network(receiver):
    response = outbound_request(method="GET", url=receiver.url("/huge"), max_body=100_000, timeout=5)
    assert (len(response.body), response.truncated) == (100_000, True)
    assert receiver.huge_done.wait(5)
    # Had the client read on, the server would have written all 32 MiB; it closed after ~100 kB instead.
    assert receiver.huge_sent_all is False


def test_a_body_of_exactly_the_cap_is_not_truncated(receiver):
    response = outbound_request(method="GET", url=receiver.url("/"), max_body=len(b'{"ok":true}'))
    assert (response.body, response.truncated) == (b'{"ok":true}', False)


def test_a_closed_port_is_connection_failed(settings):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.0/8"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OutboundError) as failed:
        outbound_request(method="GET", url=f"http://127.0.0.1:{port}/")
    assert failed.value.code == "connection_failed"


@pytest.mark.parametrize(
    ("method", "headers"),
    [("GE T", []), ("", []), ("GET", [("Bad Name", "v")]), ("GET", [("X", "a\r\nInjected: 1")])],
)
def test_invalid_methods_and_headers_are_refused(receiver, method, headers):
    with pytest.raises(OutboundBlocked) as refused:
        outbound_request(method=method, url=receiver.url("/"), headers=headers)
    assert refused.value.code == "request_invalid"
    assert receiver.seen == []


def test_proxy_environment_variables_are_ignored(receiver, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    assert outbound_request(method="GET", url=receiver.url("/")).status == 201


# --- TLS: SNI and certificate verification against the host name, connection to the pinned IP -------


@pytest.fixture
def tls_receiver(settings, fake_dns, monkeypatch) -> Iterator[Receiver]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "secure.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("secure.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "c.pem").write_bytes(cert_pem)
        (Path(tmp) / "k.pem").write_bytes(key_pem)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(Path(tmp) / "c.pem", Path(tmp) / "k.pem")
    client_ctx = ssl.create_default_context(cadata=cert_pem.decode())
    monkeypatch.setattr(outbound_client, "_ssl_context", lambda: client_ctx)
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    fake_dns["secure.test"] = ["127.0.0.1"]
    fake_dns["wrong.test"] = ["127.0.0.1"]
    yield from _start(server_ctx)


def test_https_verifies_the_certificate_against_the_host_name_not_the_pinned_ip(tls_receiver):
    response = outbound_request(
        method="POST", url=tls_receiver.url("/tls", host="secure.test", scheme="https"), body=b"s"
    )
    assert response.status == 201
    assert dict(tls_receiver.seen[0].headers)["Host"] == f"secure.test:{tls_receiver.port}"


def test_https_with_a_certificate_for_another_name_is_a_tls_error(tls_receiver):
    with pytest.raises(OutboundError) as failed:
        outbound_request(method="GET", url=tls_receiver.url("/", host="wrong.test", scheme="https"))
    assert failed.value.code == "tls_error"
    assert tls_receiver.seen == []


# --- properties ------------------------------------------------------------------------------------

# The networks the brief names, written out independently of the module's own tables.
SPEC_BLOCKED_V4 = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "192.0.2.0/24", "198.18.0.0/15",
    )
]  # fmt: skip
SPEC_BLOCKED_V6 = [
    ipaddress.IPv6Network(n) for n in ("::1/128", "::/128", "fe80::/10", "fc00::/7", "ff00::/8", "2001:db8::/32")
]

fast = hsettings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _in4(network: ipaddress.IPv4Network, offset: int) -> ipaddress.IPv4Address:
    return network[offset % network.num_addresses]


def _in6(network: ipaddress.IPv6Network, offset: int) -> ipaddress.IPv6Address:
    return network[offset % network.num_addresses]


def _v4_forms(ip: ipaddress.IPv4Address) -> list[str]:
    a, b, c, d = ip.packed
    n = int(ip)
    return [
        str(ip),
        str(n),
        hex(n),
        hex(n).upper().replace("0X", "0x"),
        ".".join(f"0{x:o}" for x in ip.packed),
        ".".join(hex(x) for x in ip.packed),
        f"{a}.{b}.{(c << 8) | d}",
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{ip!s}.",
        f"[::ffff:{ip}]",
        f"[::ffff:{n >> 16:x}:{n & 0xFFFF:X}]",
        f"[0:0:0:0:0:ffff:{ip}]",
        f"[64:ff9b::{ip}]",
        f"[2002:{n >> 16:x}:{n & 0xFFFF:x}::1]",
    ]


def _v6_forms(ip: ipaddress.IPv6Address) -> list[str]:
    return [f"[{ip.compressed}]", f"[{ip.exploded}]", f"[{ip.exploded.upper()}]", f"[{ip.compressed.upper()}]"]


@fast
@given(
    data=st.data(),
    port=st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
    scheme=st.sampled_from(["http", "https", "HTTP", "hTTps"]),
)
def test_any_address_in_a_blocked_network_is_refused_in_any_textual_form(settings, data, port, scheme):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = []
    if data.draw(st.booleans(), label="ipv4"):
        network4 = data.draw(st.sampled_from(SPEC_BLOCKED_V4 + [n for n, _ in BLOCKED_V4]), label="network")
        ip4 = _in4(network4, data.draw(st.integers(min_value=0, max_value=2**32), label="offset"))
        host = data.draw(st.sampled_from(_v4_forms(ip4)), label="form")
    else:
        network6 = data.draw(st.sampled_from(SPEC_BLOCKED_V6 + [n for n, _ in BLOCKED_V6]), label="network")
        ip6 = _in6(network6, data.draw(st.integers(min_value=0, max_value=2**128), label="offset"))
        host = data.draw(st.sampled_from(_v6_forms(ip6)), label="form")
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}/hook"
    with pytest.raises(OutboundBlocked) as refused:
        outbound_url_check(url)
    assert refused.value.code == "url_host_not_allowed", url


@fast
@given(number=st.integers(min_value=0, max_value=2**32 - 1), form=st.integers(min_value=0, max_value=8))
def test_public_ipv4_addresses_pass_in_every_numeric_form_and_mean_the_same_address(settings, number, form):
    ip = ipaddress.IPv4Address(number)
    text = _v4_forms(ip)[form]
    if address_blocked_reason(ip) or ip in ALWAYS_BLOCKED:
        with pytest.raises(OutboundBlocked):
            outbound_url_check(f"http://{text}/")
    else:
        outbound_url_check(f"http://{text}/")
        assert parse_target(f"http://{text}/").host == str(ip)
