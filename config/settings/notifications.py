"""Notifications API settings. Its variables are the "Notifications API" section of `.env.example`."""

from config.env import env_int, env_seconds

# Limits on one notification; a larger body or `data` is refused with 400 (validation_error).
NOTIFICATIONS_TITLE_MAX_CHARS = env_int("NOTIFICATIONS_TITLE_MAX_CHARS", 200)
NOTIFICATIONS_BODY_MAX_CHARS = env_int("NOTIFICATIONS_BODY_MAX_CHARS", 4000)
NOTIFICATIONS_DATA_MAX_BYTES = env_int("NOTIFICATIONS_DATA_MAX_BYTES", 16 * 1024)
# A broadcast writes and pushes this many users per transaction.
NOTIFICATIONS_BROADCAST_BATCH_SIZE = env_int("NOTIFICATIONS_BROADCAST_BATCH_SIZE", 500)
# Replays (WebSocket resume, SSE Last-Event-ID) read the database in pages of this many rows.
NOTIFICATIONS_REPLAY_PAGE_SIZE = env_int("NOTIFICATIONS_REPLAY_PAGE_SIZE", 200)
# WebSocket: app-level {"type":"ping"} interval, and the bounded per-connection outgoing queue; a
# client that lets it fill is closed with 4008 (slow consumer).
NOTIFICATIONS_WS_PING_SECONDS = env_seconds("NOTIFICATIONS_WS_PING_SECONDS", 20.0)
NOTIFICATIONS_WS_MAX_PENDING = env_int("NOTIFICATIONS_WS_MAX_PENDING", 256)
# A resume replay waits at most this long for room in that queue before closing with 4008.
NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS = env_seconds("NOTIFICATIONS_WS_SEND_TIMEOUT_SECONDS", 10.0)
# SSE: comment heartbeat interval and the reconnect delay advised with `retry:` (milliseconds).
NOTIFICATIONS_SSE_HEARTBEAT_SECONDS = env_seconds("NOTIFICATIONS_SSE_HEARTBEAT_SECONDS", 15.0)
NOTIFICATIONS_SSE_RETRY_MS = env_int("NOTIFICATIONS_SSE_RETRY_MS", 3000)
# SSE: messages buffered per stream for a client that stops reading; one more ends the stream with
# `slow_consumer` (the client reconnects with Last-Event-ID and the database replays the rest).
NOTIFICATIONS_SSE_MAX_PENDING = env_int("NOTIFICATIONS_SSE_MAX_PENDING", 256)
# WebSocket: besides the entry count, a byte budget for the outgoing queue (0 = no byte limit), and
# how long the consumer waits for a 4008 close to be written (the close stays queued after that).
NOTIFICATIONS_WS_MAX_PENDING_BYTES = env_int("NOTIFICATIONS_WS_MAX_PENDING_BYTES", 1024 * 1024)
NOTIFICATIONS_WS_CLOSE_TIMEOUT_SECONDS = env_seconds("NOTIFICATIONS_WS_CLOSE_TIMEOUT_SECONDS", 5.0)
# WebSocket: after `ready`, live delivery waits this long for the client's `resume` (or any first
# message), so a resume is answered in seq order before anything newer; 0 = start at once.
NOTIFICATIONS_WS_RESUME_GRACE_SECONDS = env_seconds("NOTIFICATIONS_WS_RESUME_GRACE_SECONDS", 0.5)
