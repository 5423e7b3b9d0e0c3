"""Cost of one `notification_send` and of `notification_send_many`, sequential, from a worker thread.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/notifications/send_cost.py --users 200

Runs the calls the way the WebSocket bench's publisher does (a thread under a running event loop, so
the after-commit publish reuses the loop's Redis connections) against the users `wsbench-*` that
`bench/ws_notifications.py` creates (created here when missing). Prints milliseconds per notification.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10, help="users per notification_send_many call")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from asgiref.sync import sync_to_async
    from django.contrib.auth import get_user_model

    from notifications import services

    notification_send = services.notification_send
    notification_send_many = getattr(services, "notification_send_many", None)  # absent before cd955e9

    user_model = get_user_model()
    emails = [f"wsbench-{index}@example.com" for index in range(args.users)]
    known = set(user_model.objects.filter(email__in=emails).values_list("email", flat=True))
    for email in emails:
        if email not in known:
            user_model.objects.create_user(email=email, password=None)
    users = [str(pk) for pk in user_model.objects.filter(email__in=emails).values_list("pk", flat=True)]

    def single() -> float:
        started = time.perf_counter()
        for user_id in users:
            notification_send(user_id=user_id, kind="system.message", title="cost", data={"n": 1})
        return (time.perf_counter() - started) / len(users) * 1000

    def many() -> float:
        started = time.perf_counter()
        for start in range(0, len(users), args.batch):
            notification_send_many(  # type: ignore[misc]
                user_ids=users[start : start + args.batch], kind="system.message", title="cost", data={"n": 1}
            )
        return (time.perf_counter() - started) / len(users) * 1000

    async def run() -> dict[str, float]:
        await sync_to_async(single, thread_sensitive=False)()  # warm-up: connections, caches
        cpu = time.process_time()
        single_ms = await sync_to_async(single, thread_sensitive=False)()
        single_cpu = (time.process_time() - cpu) / len(users) * 1000
        report = {
            "users": len(users),
            "send_ms_per_notification": round(single_ms, 2),
            "send_cpu_ms_per_notification": round(single_cpu, 2),
        }
        if notification_send_many is not None:
            cpu = time.process_time()
            many_ms = await sync_to_async(many, thread_sensitive=False)()
            report[f"send_many_{args.batch}_ms_per_notification"] = round(many_ms, 2)
            report[f"send_many_{args.batch}_cpu_ms_per_notification"] = round(
                (time.process_time() - cpu) / len(users) * 1000, 2
            )
        return report

    print(json.dumps(asyncio.run(run())))


if __name__ == "__main__":
    main()
