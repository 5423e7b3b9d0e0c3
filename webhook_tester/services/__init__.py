"""Writes of the Webhook Tester: bins, captured events, replays (keyword-only `<noun>_<verb>` functions)."""

from .bins import bin_create, bin_delete, bin_update, bins_purge_expired, read_key_hash, response_headers_clean
from .events import (
    BinConfig,
    bin_capture_rate_hits,
    bin_config_forget,
    bin_config_load,
    bin_config_peek,
    bin_event_capture,
    bin_event_delete,
    bin_events_capture_many,
    bin_events_clear,
    bin_events_trim,
    bin_notify_maybe,
    bin_notify_send,
    bins_trim_all,
    bins_watched,
    captured_event_build,
)
from .replay import replay_create, replay_headers, replay_send, replay_target

__all__ = [
    "BinConfig",
    "bin_capture_rate_hits",
    "bin_config_forget",
    "bin_config_load",
    "bin_config_peek",
    "bin_create",
    "bin_delete",
    "bin_event_capture",
    "bin_event_delete",
    "bin_events_capture_many",
    "bin_events_clear",
    "bin_events_trim",
    "bin_notify_maybe",
    "bin_notify_send",
    "bin_update",
    "bins_purge_expired",
    "bins_trim_all",
    "bins_watched",
    "captured_event_build",
    "read_key_hash",
    "replay_create",
    "replay_headers",
    "replay_send",
    "replay_target",
    "response_headers_clean",
]
