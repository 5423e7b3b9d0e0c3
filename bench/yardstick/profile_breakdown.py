"""Per-request breakdown of a py-spy raw profile (`py-spy record -f raw`) of one server under load.

    python bench/yardstick/profile_breakdown.py PROFILE.txt REQUESTS_PER_SECOND

Prints, for each component, the share of the process's busy samples whose stack passes through it
(inclusive: a DRF view's database query counts under both "DRF" and "database") and that share of
the per-request CPU time (1 / req/s, when the server is CPU-bound). Idle samples (the event loop
waiting, an idle worker thread) are left out.
"""

import sys
from collections import Counter
from pathlib import Path

# (label, substrings of a frame "function (file:line)"; any of them marks the component)
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("server: uvicorn/httptools protocol", ("uvicorn/protocols",)),
    ("static files wrapper (servestatic)", ("servestatic/",)),
    ("Django ASGI handler (request, signals, response)", ("django/core/handlers/asgi.py",)),
    ("thread hops: sync_to_async / async_to_sync", ("asgiref/sync.py",)),
    ("  of which: a thread started per request", ("Thread.start",)),
    ("request_started/finished signals", ("dispatch/dispatcher.py",)),
    ("our middleware: request id, problem details, size limit, CSP", ("common/middleware.py",)),
    ("  request id (uuid4)", ("RequestIdMiddleware",)),
    (
        "Django middleware (security, session, common, csrf, auth, messages, xframe)",
        (
            "django/middleware/",
            "django/contrib/sessions/middleware",
            "django/contrib/auth/middleware",
            "django/contrib/messages/",
            "common/django_middleware.py",
        ),
    ),
    ("CORS middleware", ("corsheaders/",)),
    ("rate limiter (incl. its cache round trip)", ("common/ratelimit.py",)),
    ("  rate-limit principal: JWT decode", ("request_principal (auth_app",)),
    ("JWT decode (all)", ("token_decode",)),
    ("authentication (denylist, user fetch)", ("authenticate_access_token",)),
    ("  user fetch from the database", ("user_active_load",)),
    ("Redis I/O (all)", ("redis/",)),
    ("database: ORM + psycopg (all)", ("django/db/", "psycopg")),
    ("DRF view dispatch (all)", ("APIView.dispatch",)),
    ("  DRF initial: auth, permissions, throttles, negotiation", ("APIView.initial",)),
    ("  DRF finalize + rendering", ("finalize_response", "renderers.py", "Response.rendered_content")),
    ("URL resolving", ("django/urls/resolvers.py",)),
    ("logging", ("logging/__init__.py", "common/logging.py")),
    ("garbage collector", ("gc_collect", "(gc)")),
]
IDLE = (
    "_worker (concurrent/futures/thread.py:81)",
    "select (selectors.py",
    "run_forever",
    "Condition.wait",
    "Event.wait",
)


def main(path: str, rps: float) -> None:
    samples: Counter[str] = Counter()
    busy = 0
    idle = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        frames = stack.split(";")
        innermost = frames[-1] if frames else ""
        if not stack.strip() or any(marker in innermost for marker in IDLE):
            idle += count
            continue
        busy += count
        for label, markers in COMPONENTS:
            if any(marker in frame for frame in frames for marker in markers):
                samples[label] += count
    per_request_us = 1e6 / rps if rps else 0.0
    print(f"{busy} busy samples ({idle} idle left out); {rps:.0f} req/s -> {per_request_us:.0f} us per request")
    print(f"{'component':<80} {'share':>6} {'us/req':>7}")
    for label, _ in COMPONENTS:
        share = samples[label] / busy if busy else 0.0
        print(f"{label:<80} {share:>6.1%} {share * per_request_us:>7.0f}")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
