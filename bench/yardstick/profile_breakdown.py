"""Per-request breakdown of a py-spy raw profile (`py-spy record -f raw`) of one server under load.

    python bench/yardstick/profile_breakdown.py PROFILE.txt REQUESTS_PER_SECOND

Each busy sample is charged to ONE component: walking its stack from the innermost frame outwards,
the first frame that belongs to a component below takes it (so a middleware is charged only its own
code, not the view it calls). Shares add up to 100 % of the busy samples; "us/req" is that share of
1 / req/s (the per-request time when the server is CPU-bound). Idle samples (the event loop
waiting, an idle worker thread) are left out.
"""

import sys
from collections import Counter
from pathlib import Path

# (label, substrings of a frame "function (file:line)"); more specific components first.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("JWT decode (signature, claims)", ("token_decode", "jwt/")),
    ("Redis client (the rate-limit script round trip)", ("redis/",)),
    ("database (ORM + psycopg)", ("django/db/", "psycopg")),
    ("rate limiter (keys, windows, headers)", ("common/ratelimit/",)),
    ("authentication (denylist + user from the prefetch)", ("auth_app/authentication.py", "auth_app/user_cache")),
    ("DRF rendering (JSON)", ("renderers.py", "common/serialization", "rest_framework/utils/encoders")),
    ("DRF request/response, negotiation, permissions", ("rest_framework/",)),
    ("views and serializers (ours)", ("auth_app/views", "auth_app/serializers", "notifications/", "common/health")),
    ("URL resolving", ("django/urls/",)),
    ("CORS middleware", ("corsheaders/",)),
    (
        "Django middleware (security, session, common, csrf, auth, messages, xframe)",
        (
            "django/middleware/",
            "django/contrib/sessions/",
            "django/contrib/auth/",
            "django/contrib/messages/",
            "common/django_middleware.py",
        ),
    ),
    ("our middleware (request id, problem details, size limit, CSP)", ("common/middleware.py",)),
    ("logging", ("logging/__init__.py", "common/logging.py")),
    ("signals (request_started/finished: close_old_connections)", ("dispatch/dispatcher.py",)),
    ("Django HTTP request/response objects", ("django/http/",)),
    ("thread hops (asgiref sync_to_async, futures, thread start)", ("asgiref/", "concurrent/futures", "threading.py")),
    ("Django ASGI handler (body, scope, send)", ("django/core/handlers/",)),
    ("static files wrapper (servestatic)", ("servestatic/",)),
    ("Channels router", ("channels/",)),
    ("server: uvicorn + httptools", ("uvicorn/", "httptools")),
    ("event loop (asyncio/uvloop scheduling)", ("asyncio/", "uvloop")),
]
IDLE = (
    "_worker (concurrent/futures/thread.py:81)",
    "select (selectors.py",
    "run_forever",
    "Condition.wait",
    "Event.wait",
)


def main(path: str, rps: float) -> None:
    charged: Counter[str] = Counter()
    busy = idle = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        frames = [frame for frame in stack.split(";") if frame.strip()]
        if not frames or any(marker in frames[-1] for marker in IDLE):
            idle += count
            continue
        busy += count
        label = "other"
        for frame in reversed(frames):
            found = next((name for name, markers in COMPONENTS if any(m in frame for m in markers)), None)
            if found:
                label = found
                break
        charged[label] += count
    per_request_us = 1e6 / rps if rps else 0.0
    print(f"{busy} busy samples ({idle} idle left out); {rps:.0f} req/s -> {per_request_us:.0f} us per request")
    print(f"{'component':<78} {'share':>6} {'us/req':>7}")
    for label, _ in [*COMPONENTS, ("other", ())]:
        share = charged[label] / busy if busy else 0.0
        if share:
            print(f"{label:<78} {share:>6.1%} {share * per_request_us:>7.0f}")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
