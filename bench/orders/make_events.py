"""Write N distinct Stripe events, each with a valid Stripe-Signature made now, for the intake benchmark.

One event per line: `<signature>\\t<json body>`; wrk's intake.lua sends them in turn, so every request
is a new event (verify + INSERT + enqueue), not a cheap duplicate.

    python bench/orders/make_events.py --count 60000 --secret whsec_bench --out events.tsv
"""

import argparse
import hashlib
import hmac
import json
import time
import uuid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=60000)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    now = int(time.time())
    with open(args.out, "w") as out:
        for _ in range(args.count):
            event = {
                "id": f"evt_bench_{uuid.uuid4().hex[:24]}",
                "object": "event",
                "api_version": "2024-06-20",
                "created": now,
                "type": "customer.created",
                "data": {"object": {"id": f"cus_{uuid.uuid4().hex[:14]}", "object": "customer", "metadata": {}}},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
            }
            body = json.dumps(event, separators=(",", ":"))
            mac = hmac.new(args.secret.encode(), f"{now}.{body}".encode(), hashlib.sha256).hexdigest()
            out.write(f"t={now},v1={mac}\t{body}\n")


if __name__ == "__main__":
    main()
