"""Serving-path limits (common/asgi, common/streams, auth_app/ws/, the 503 mapping in common/errors).

Its variables are the "Serving limits" section of `.env.example`; README "Limits" explains them.
"""

from config.env import env_int, env_seconds

# Largest WebSocket message (bytes). uvicorn gets the same number (`--ws-max-size`, Makefile, Dockerfile,
# deploy/) and closes with 1009 past it; the consumer base class checks it again (another server, tests).
WS_MAX_MESSAGE_BYTES = env_int("WS_MAX_MESSAGE_BYTES", 64 * 1024)
# Largest message an unauthenticated WebSocket may send: its {"type": "auth", "token": ...}. A larger
# (or binary) one closes the socket before it is parsed.
WS_AUTH_MESSAGE_MAX_BYTES = env_int("WS_AUTH_MESSAGE_MAX_BYTES", 4096)
# Open streams (WebSockets and SSE together) one user, and one client IP, may hold; past them a
# WebSocket closes with 4429 and an SSE request gets 429 with Retry-After.
STREAMS_MAX_PER_USER = env_int("STREAMS_MAX_PER_USER", 20)
STREAMS_MAX_PER_IP = env_int("STREAMS_MAX_PER_IP", 100)
# Seconds a stream's slot lives without a refresh (open streams refresh theirs every third of it), so
# the slots of a crashed process free themselves after at most this long.
STREAMS_LEASE_SECONDS = env_seconds("STREAMS_LEASE_SECONDS", 90.0)
# Retry-After (seconds) of a 503 service_unavailable (database or Redis unreachable).
SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = env_int("SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS", 5)
