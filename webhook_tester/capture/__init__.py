"""The capture endpoint `/hooks/{bin_id}[/sub/path]` as a pure ASGI app, in front of Django.

The hottest path of the platform, so it skips Django's middleware, URL resolver and DRF:

1. The bin's settings come from a per-process cache (BINS_CACHE_SECONDS), else one SELECT.
   Unknown bin: 404; expired: 410.
2. The body is read here, chunk by chunk, and refused with 413 as soon as it passes
   BINS_CAPTURE_MAX_BYTES, whether or not Content-Length announced it; nothing is stored.
3. The capture joins the next batch (`CaptureBatcher`, group commit): one worker-thread hop per
   batch does the per-bin rate counts (one Redis round trip) and one multi-row INSERT. Only after
   that commit is the request answered: stored before answered.
4. The answer: the bin's custom response (after its delay, awaited on the event loop) or a JSON
   receipt with the event id.
5. After the answers, once per batch: the live push to each bin's group that someone watches (one
   message per bin: channels_redis publishes one message at a time per connection, so a push per
   capture nobody watches would cap the whole path), every BINS_CAP_TRIM_EVERY captures of a bin in
   this process the trim to its cap, and for bins that opted in the throttled notification.

Errors are problem+json like everywhere else.
"""

from .app import PREFIX, capture_app, http_app_with_capture
from .batching import CaptureBatcher

__all__ = ["PREFIX", "CaptureBatcher", "capture_app", "http_app_with_capture"]
