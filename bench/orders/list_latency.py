"""Orders list latency: first page vs a page deep in the list (after 500 pages), two sorts with a filter.

In-process (the whole Django stack through DRF's APIClient, no sockets) and over HTTP (keep-alive
requests to a running server, BASE_URL), p50/p99 per case; EXPLAIN (ANALYZE, BUFFERS) of the deep
page's query written next to the results. Needs PostgreSQL with `manage.py seed --orders 1000000`.

    python bench/orders/list_latency.py --results DIR [--base-url http://127.0.0.1:8767] [--repeat 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from auth_app.models import User  # noqa: E402
from auth_app.services import auth_session_start  # noqa: E402

URL = "/api/v1/orders"
CASES = [
    ("-created_at, status=paid", {"sort": "-created_at", "status": "paid"}),
    ("total, currency=eur", {"sort": "total", "currency": "eur"}),
]
# Only EXPLAINed: the sort with the longest runs of equal values (seven statuses over every row).
EXPLAIN_ONLY = [("status, payment_status=unpaid", {"sort": "status", "payment_status": "unpaid"})]
LIMIT = 20
DEEP_PAGES = 500


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(samples), 2), "p99_ms": round(pct(samples, 0.99), 2), "n": len(samples)}


def deep_cursor(client: APIClient, params: dict[str, str]) -> str:
    query = {**params, "limit": LIMIT}
    for _ in range(DEEP_PAGES):
        body = client.get(URL, query).json()
        query = {**params, "cursor": body["next_cursor"], "limit": LIMIT}
    return str(query["cursor"])


CPU_SAMPLES: list[float] = []


def in_process(client: APIClient, query: dict[str, object], repeat: int) -> list[float]:
    """Wall-clock ms per request; the Python CPU ms of each (less sensitive to a busy machine) go to CPU_SAMPLES."""
    samples = []
    CPU_SAMPLES.clear()
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(URL, query)
        samples.append((time.perf_counter() - started) * 1000)
        CPU_SAMPLES.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200, response.content
    return samples


def over_http(base: str, token: str, query: dict[str, object], repeat: int) -> list[float]:
    parsed = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    path = f"{URL}?{urllib.parse.urlencode(query)}"
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, response.status
    conn.close()
    return samples


def explain(client: APIClient, query: dict[str, object]) -> str:
    with CaptureQueriesContext(connection) as captured:
        client.get(URL, query)
    sql = next(q["sql"] for q in captured.captured_queries if "orders_order" in q["sql"] and "LIMIT" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--base-url", default="")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    staff = User.objects.filter(email="bench-staff@example.com").first() or User.objects.create_user(
        email="bench-staff@example.com", password=None, is_staff=True
    )
    client = APIClient()
    client.force_authenticate(staff)
    token = auth_session_start(user=staff)["access"] if args.base_url else ""
    report = {
        "rows": connection.cursor().execute("SELECT count(*) FROM orders_order").fetchone()[0],
        "load_average": os.getloadavg(),
        "cases": [],
    }
    plans = []
    for name, params in CASES:
        cursor = deep_cursor(client, params)
        first = {**params, "limit": LIMIT}
        deep = {**params, "cursor": cursor, "limit": LIMIT}
        case = {"case": name}
        for label, query in (("first", first), ("deep", deep)):
            in_process(client, query, 20)  # warm up
            case[f"in_process_{label}"] = summary(in_process(client, query, args.repeat))
            case[f"in_process_{label}_cpu"] = summary(CPU_SAMPLES)
            if args.base_url:
                over_http(args.base_url, token, query, 20)
                case[f"http_{label}"] = summary(over_http(args.base_url, token, query, args.repeat))
        report["cases"].append(case)
        plans.append(f"## {name}: first page\n{explain(client, first)}\n")
        plans.append(f"## {name}: page {DEEP_PAGES + 1}\n{explain(client, deep)}\n")
        print(json.dumps(case), flush=True)
    for name, params in EXPLAIN_ONLY:
        cursor = deep_cursor(client, params)
        plans.append(
            f"## {name}: page {DEEP_PAGES + 1}\n{explain(client, {**params, 'cursor': cursor, 'limit': LIMIT})}\n"
        )
    (results / "list_latency.json").write_text(json.dumps(report, indent=2))
    (results / "explain.txt").write_text("\n".join(plans))
    print(f"results in {results}")


if __name__ == "__main__":
    main()
