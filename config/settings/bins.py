"""Webhook Tester settings. Its variables are the "Webhook Tester" section of `.env.example`."""

from config.env import env_int, env_rate, env_seconds
from config.settings.base import CELERY_BEAT_SCHEDULE, REQUEST_BODY_LIMITS

# Largest request body a bin captures; a larger one is answered 413 and nothing is stored. Enforced
# while reading (a body without Content-Length is cut off at the limit too).
BINS_CAPTURE_MAX_BYTES = env_int("BINS_CAPTURE_MAX_BYTES", 1024 * 1024)
REQUEST_BODY_LIMITS["/hooks/"] = BINS_CAPTURE_MAX_BYTES
# Events kept per bin; beyond it the oldest are deleted (BINS_CAP_TRIM_EVERY captures per process
# trigger a trim, and a periodic task trims every bin).
BINS_EVENT_CAP = env_int("BINS_EVENT_CAP", 500)
BINS_CAP_TRIM_EVERY = env_int("BINS_CAP_TRIM_EVERY", 25)
# A bin lives this long after creation (or its last update of `expires_in_days`); afterwards its
# capture URL answers 410 and the purge task deletes it.
BINS_RETENTION_DAYS = env_int("BINS_RETENTION_DAYS", 7)
BINS_MAX_PER_USER = env_int("BINS_MAX_PER_USER", 50)
# Captures per bin (all senders together), independent of the per-IP API limit.
BINS_CAPTURE_RATE = env_rate("BINS_CAPTURE_RATE", "600/1m")
# How long a capture worker may use its copy of a bin's settings (custom response, expiry) before
# reading them again; a deleted bin is noticed at once (its events cannot be inserted).
BINS_CACHE_SECONDS = env_seconds("BINS_CACHE_SECONDS", 2.0)
# Custom responses: body size and delay limits.
BINS_RESPONSE_BODY_MAX_BYTES = env_int("BINS_RESPONSE_BODY_MAX_BYTES", 64 * 1024)
BINS_RESPONSE_DELAY_MAX_MS = env_int("BINS_RESPONSE_DELAY_MAX_MS", 10_000)
# Owner notifications (for bins that opt in): at most one per bin per this many seconds.
BINS_NOTIFY_INTERVAL_SECONDS = env_int("BINS_NOTIFY_INTERVAL_SECONDS", 60)
# Replay: how much of the target's answer is kept, and how long it may take.
BINS_REPLAY_BODY_EXCERPT_BYTES = env_int("BINS_REPLAY_BODY_EXCERPT_BYTES", 16 * 1024)
BINS_REPLAY_TIMEOUT_SECONDS = env_seconds("BINS_REPLAY_TIMEOUT_SECONDS", 10.0)
BINS_REPLAY_MAX_ATTEMPTS = env_int("BINS_REPLAY_MAX_ATTEMPTS", 3)
# The periodic task that deletes expired bins and trims every bin to its cap.
BINS_PURGE_INTERVAL_SECONDS = env_int("BINS_PURGE_INTERVAL_SECONDS", 300)
CELERY_BEAT_SCHEDULE["bins-purge"] = {
    "task": "webhook_tester.tasks.bins_purge_task",
    "schedule": float(BINS_PURGE_INTERVAL_SECONDS),
}
# Group commit on the capture path: at most this many captures per INSERT, and this many batches
# being written at once per process (requests arriving meanwhile wait for the next batch).
BINS_CAPTURE_BATCH_MAX = env_int("BINS_CAPTURE_BATCH_MAX", 256)
BINS_CAPTURE_WRITERS = env_int("BINS_CAPTURE_WRITERS", 2)
# A bin's live viewers (WebSocket) mark it watched for this long, renewed every third of it; captures
# are pushed only to bins marked watched.
BINS_WATCH_SECONDS = env_int("BINS_WATCH_SECONDS", 60)
