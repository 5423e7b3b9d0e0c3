"""The bin's channel-layer group and the live payloads sent to it (consumed by `consumers.BinConsumer`)."""

from __future__ import annotations

from typing import Any

from common.serialization import format_datetime

from .models import CapturedEvent, ReplayAttempt


def bin_group(bin_id: Any) -> str:
    return f"bins.{bin_id}"


def event_summary(event: CapturedEvent) -> dict[str, Any]:
    """An event without its body and headers: what lists and live pushes carry."""
    return {
        "id": str(event.pk),
        "bin_id": str(event.bin_id),
        "method": event.method,
        "path": event.path,
        "sub_path": event.sub_path,
        "query_string": event.query_string,
        "content_type": event.content_type,
        "content_length": event.content_length,
        "remote_ip": event.remote_ip,
        "is_tls": event.is_tls,
        "received_at": format_datetime(event.received_at),
    }


def events_message(events: list[CapturedEvent]) -> dict[str, Any]:
    """One push for the events of one bin captured together (a capture batch), oldest first."""
    return {"type": "bin.events", "events": [event_summary(event) for event in events]}


def watch_key(bin_id: Any) -> str:
    """The cache key that says someone watches the bin live (set by its WebSocket consumers)."""
    return f"bins:watched:{bin_id}"


def replay_message(replay: ReplayAttempt, bin_id: Any) -> dict[str, Any]:
    return {
        "type": "bin.replay",
        "replay": {
            "id": str(replay.pk),
            "event_id": str(replay.event_id),
            "bin_id": str(bin_id),
            "status": replay.status,
            "response_status": replay.response_status,
            "error_code": replay.error_code,
        },
    }
