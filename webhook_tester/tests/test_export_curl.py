"""The exported curl command, run by bash against a second bin on a live server, reproduces the event."""

import subprocess

import pytest

from webhook_tester.export import event_curl
from webhook_tester.models import CapturedEvent

from .conftest import capture, hook

pytestmark = pytest.mark.django_db(transaction=True)

# Headers the sending client sets from the target and the body, not from the original.
MANAGED = {"host", "content-length"}

BODIES = [
    b"",
    b'{"quote": "it\'s", "dq": "\\"x\\"", "dollar": "$(touch /tmp/pwned) `id` $HOME"}',
    b"line one\nline two\r\nthree\n",
    b"@/etc/passwd",
    b"\x00\x01binary\x00with NULs\xff\xfe",
    "caf\u00e9 \u2603 \U0001f600".encode(),
    b"\xc3\x28 invalid utf-8",
    b"-d --data @x ' \" \\ ! *",
]


def _headers(event):
    return [[name, value] for name, value in event.headers if name.lower() not in MANAGED]


@pytest.mark.parametrize("body", BODIES)
def test_curl_export_round_trip(live_asgi_url, make_bin, user, body):
    source, target = make_bin(user), make_bin(user)
    headers = [
        (b"Content-Type", b"application/octet-stream"),
        (b"X-Quote", b'it\'s a "test" $(id) `id`'),
        (b"x-empty", b""),
        (b"User-Agent", b"Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
    ]
    capture("POST", hook(source, "/a b/'q'"), query=b"x=1&y=it%27s&z=%24(id)", headers=headers, chunks=[body])
    original = CapturedEvent.objects.get(bin=source)
    command = event_curl(original, target=f"{live_asgi_url}/hooks/{target.pk}")
    done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=20, check=False)  # noqa: S603, S607
    assert done.returncode == 0, (command, done.stderr)
    copy = CapturedEvent.objects.get(bin=target)
    assert copy.method == original.method
    assert copy.sub_path == original.sub_path
    assert copy.query_string == original.query_string
    assert bytes(copy.body) == bytes(original.body)
    assert _headers(copy) == _headers(original)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_curl_export_keeps_the_method(live_asgi_url, make_bin, user, method):
    source, target = make_bin(user), make_bin(user)
    capture(method, hook(source), headers=[(b"accept", b"*/*")])
    original = CapturedEvent.objects.get(bin=source)
    command = event_curl(original, target=f"{live_asgi_url}/hooks/{target.pk}")
    done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=20, check=False)  # noqa: S603, S607
    assert done.returncode == 0, (command, done.stderr)
    copy = CapturedEvent.objects.get(bin=target)
    assert copy.method == method
    assert _headers(copy) == _headers(original)
