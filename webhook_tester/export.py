"""Exports of one captured event: a curl command, a HAR 1.2 document, the raw body.

curl: every argument goes through `shlex.quote`. A body that is UTF-8 text without NUL goes in
`--data-raw` (which, unlike `--data-binary`, never reads a file for a leading `@`); any other body
(NUL bytes, invalid UTF-8) is carried as base64 and piped: `printf '%s' '<b64>' | base64 -d |
curl ... --data-binary @-`, which needs only POSIX printf and coreutils' base64. Headers curl would
add on its own (User-Agent, Accept, Content-Type for data, Expect) are suppressed when the original
had none, so the replayed request carries the same header set; Host and Content-Length come from
the target and the body.
"""

from __future__ import annotations

import base64
import shlex
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings

from common.serialization import format_datetime

from .models import CapturedEvent

_CURL_MANAGED = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive", "upgrade", "te"})
_CURL_DEFAULTS = ("User-Agent", "Accept", "Content-Type", "Expect")


def event_url(event: CapturedEvent, target: str | None = None) -> str:
    """Where the event was sent (or `target` + its sub-path), with its query string."""
    base = target.rstrip("/") + event.sub_path if target else settings.PUBLIC_BASE_URL.rstrip("/") + event.path
    return f"{base}?{event.query_string}" if event.query_string else base


def _body_text(body: bytes) -> str | None:
    if b"\x00" in body:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def event_curl(event: CapturedEvent, *, target: str | None = None) -> str:
    """A shell command that re-sends the event's method, path, query, headers and body byte for byte."""
    body = bytes(event.body)
    args = ["curl", "--silent", "--show-error", "--globoff", "--path-as-is"]
    if event.method == "HEAD":
        args.append("--head")
    else:
        args += ["-X", event.method]
    args.append(event_url(event, target))
    present = {name.lower() for name, _value in event.headers}
    for name, value in event.headers:
        if name.lower() in _CURL_MANAGED:
            continue
        # `Name;` is curl's syntax for a header with an empty value (`Name:` would remove it).
        args += ["-H", f"{name}: {value}" if value else f"{name};"]
    for name in _CURL_DEFAULTS:
        if name.lower() not in present:
            args += ["-H", f"{name}:"]
    text = _body_text(body)
    if body and text is not None:
        args += ["--data-raw", text]
    elif body:
        args += ["--data-binary", "@-"]
    command = " ".join(shlex.quote(arg) for arg in args)
    if body and text is None:
        encoded = base64.b64encode(body).decode("ascii")
        command = f"printf '%s' {shlex.quote(encoded)} | base64 -d | {command}"
    return command


def event_har(event: CapturedEvent) -> dict[str, Any]:
    """A HAR 1.2 log with one entry: the request as captured (our answer is not recorded: status 0)."""
    body = bytes(event.body)
    text = _body_text(body)
    request: dict[str, Any] = {
        "method": event.method,
        "url": event_url(event),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [{"name": name, "value": value} for name, value in event.headers],
        "queryString": [
            {"name": name, "value": value} for name, value in parse_qsl(event.query_string, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(body),
    }
    if body:
        post: dict[str, Any] = {"mimeType": event.content_type or "application/octet-stream"}
        if text is not None:
            post["text"] = text
        else:  # HAR has no binary postData; "encoding" as in HAR's content object (a common extension)
            post["text"] = base64.b64encode(body).decode("ascii")
            post["encoding"] = "base64"
        if event.form and event.form.get("kind") == "urlencoded":
            post["params"] = [{"name": name, "value": value} for name, value in event.form["fields"]]
        request["postData"] = post
    entry = {
        "startedDateTime": format_datetime(event.received_at),
        "time": 0,
        "request": request,
        "response": {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "serverIPAddress": "",
        "comment": f"Captured by bin {event.bin_id} from {event.remote_ip}",
    }
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "api-platform webhook tester", "version": "1.0"},
            "entries": [entry],
        }
    }
