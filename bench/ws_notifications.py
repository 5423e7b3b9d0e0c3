"""Notifications WebSocket benchmark: N authenticated sockets, publish-to-receive latency, server memory.

    # against a server that is already running (same DATABASE_URL / REDIS_URL as the server):
    python bench/ws_notifications.py run --url ws://127.0.0.1:8767/ws/notifications \
        --sockets 2000 --publish-users 0 --duration 30 --server-pid <uvicorn pid>      # idle sockets
    python bench/ws_notifications.py run --url ws://127.0.0.1:8767/ws/notifications \
        --sockets 1000 --publish-users 1000 --rate 1 --duration 60 --server-pid <pid>  # 1 msg/s each

`run` (1) creates the users wsbench-<i>@example.com and mints one access token each through
`auth_app.services.auth_session_start` (Django is set up in this process, so it needs the server's
DATABASE_URL), (2) reads the server's VmRSS, (3) opens the sockets with the `bearer` subprotocol and
waits for every `ready`, (4) reads VmRSS again, (5) starts `publish` in a separate process, which calls
`notifications.services.notification_send` for each of the first --publish-users users --rate times a
second on a fixed schedule with `data.sent_at` = the tick's scheduled time (no coordinated omission),
and (6) records `time.time() - sent_at` for every notification received, and per socket the
duplicate seqs and the seqs missing between its first and last. It prints one JSON report (also
written to --report), with the publish rate requested and achieved.

`bench/notifications/run.sh` starts the server, pins server and client to separate CPUs and raises
the file-descriptor limit; docs/benchmarks/notifications.md has the method.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "wsbench-{index}@example.com"


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int | None) -> int | None:
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- setup: users and tokens ------------------------------------------------------------------------


def make_tokens(count: int) -> list[dict[str, str]]:
    """Users wsbench-0..count-1 (created once) and a fresh access token for each."""
    django_setup()
    from django.contrib.auth import get_user_model

    from auth_app.services import auth_session_start

    user_model = get_user_model()
    existing = {u.email: u for u in user_model.objects.filter(email__startswith="wsbench-")}
    missing = [EMAIL.format(index=i) for i in range(count) if EMAIL.format(index=i) not in existing]
    for email in missing:
        existing[email] = user_model.objects.create_user(email=email, password=None)
    tokens = []
    for index in range(count):
        user = existing[EMAIL.format(index=index)]
        tokens.append(
            {"user_id": str(user.pk), "token": auth_session_start(user=user, user_agent="ws-bench")["access"]}
        )
    return tokens


# --- publisher (a separate process) -----------------------------------------------------------------


def publish(args: argparse.Namespace) -> None:
    """Call notification_send for each user `rate` times a second, on a fixed schedule.

    Each tick's sends are started at the tick's scheduled time whether or not the previous tick has
    finished (no coordinated omission), and `data.sent_at` is that scheduled time, so a publisher
    that falls behind shows up as latency instead of silently sending less. The publish rate actually
    achieved is reported beside the requested one.
    """
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # explicit: the publisher shares the client's CPU
    django_setup()
    from asgiref.sync import sync_to_async

    from notifications.services import notification_send

    user_ids: list[str] = json.loads(Path(args.users_file).read_text())

    def send(user_id: str, sent_at: float) -> None:
        notification_send(user_id=user_id, kind="system.message", title="bench", data={"sent_at": sent_at})

    async def main() -> None:
        # Publishing from a running loop reuses its channel-layer connections (async_to_sync inside the
        # thread hops back onto this loop) instead of opening a loop and a connection per message.
        threads = asyncio.Semaphore(args.concurrency)
        asend = sync_to_async(send, thread_sensitive=False)
        errors = 0

        async def one(user_id: str, sent_at: float) -> None:
            nonlocal errors
            async with threads:
                try:
                    await asend(user_id, sent_at)
                except Exception:  # noqa: BLE001 - counted and reported
                    errors += 1

        interval = 1.0 / args.rate
        ticks = max(1, round(args.duration * args.rate))
        start_wall = time.time() + 0.1
        start_mono = time.monotonic() + 0.1
        pending: list[asyncio.Task[None]] = []
        late = 0
        for tick in range(ticks):
            delay = start_mono + tick * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif pending and not all(task.done() for task in pending[-len(user_ids) :]):
                late += 1  # the previous tick's sends were still running at this tick's time
            scheduled = start_wall + tick * interval
            pending.extend(asyncio.create_task(one(user_id, scheduled)) for user_id in user_ids)
        await asyncio.gather(*pending)
        elapsed = time.monotonic() - start_mono
        published = len(pending) - errors
        print(
            json.dumps(
                {
                    "published": published,
                    "errors": errors,
                    "requested_per_second": round(len(user_ids) * args.rate, 1),
                    # Over the schedule's window (ticks x interval), or longer when the sends overran it.
                    "achieved_per_second": round(published / max(elapsed, ticks * interval), 1),
                    "seconds": round(elapsed, 2),
                    "late_ticks": late,
                    "cpu": args.cpu,
                }
            ),
            flush=True,
        )

    asyncio.run(main())


# --- listener ---------------------------------------------------------------------------------------


async def listen(args: argparse.Namespace, tokens: list[dict[str, str]]) -> dict[str, Any]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    latencies: list[float] = []
    closes: dict[str, int] = {}
    duplicates = 0
    gaps = 0  # seqs missing between the first and the last one each socket received
    sockets_with_gaps = 0
    ready = 0
    stop = asyncio.Event()
    opened = asyncio.Semaphore(args.connect_concurrency)
    all_ready = asyncio.Event()

    async def client(entry: dict[str, str]) -> None:
        nonlocal ready, duplicates, gaps, sockets_with_gaps
        seen: set[int] = set()
        try:
            async with opened:
                socket = await connect(
                    args.url,
                    origin=args.origin,
                    subprotocols=["bearer", entry["token"]],  # type: ignore[list-item]
                    open_timeout=30,
                    ping_interval=None,
                    max_queue=64,
                )
                first = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
                assert first["type"] == "ready", first
                # Resume from `ready`: this starts live delivery at once instead of after the grace.
                await socket.send(json.dumps({"type": "resume", "after": first["last_seq"]}))
            ready += 1
            if ready == len(tokens):
                all_ready.set()
            async with socket:
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(socket.recv(), timeout=1.0)
                    except TimeoutError:
                        continue
                    message = json.loads(raw)
                    if message["type"] == "notification":
                        received_at = time.time()
                        seq = int(message["notification"]["seq"])
                        if seq in seen:
                            duplicates += 1
                            continue
                        seen.add(seq)
                        sent_at = message["notification"]["data"].get("sent_at")
                        if sent_at:
                            latencies.append(received_at - float(sent_at))
        except ConnectionClosed as closed:
            code = str(closed.rcvd.code if closed.rcvd else "no-close-frame")
            closes[code] = closes.get(code, 0) + 1
        except Exception as error:  # noqa: BLE001 - counted and reported
            name = type(error).__name__
            closes[name] = closes.get(name, 0) + 1
        finally:
            if seen:
                missing = max(seen) - min(seen) + 1 - len(seen)
                gaps += missing
                sockets_with_gaps += missing > 0

    async def warm_up(entry: dict[str, str]) -> None:
        async with connect(
            args.url,
            origin=args.origin,
            subprotocols=["bearer", entry["token"]],  # type: ignore[list-item]
        ) as socket:
            await asyncio.wait_for(socket.recv(), timeout=30)

    # A few sockets first, so that one-time costs (imports, thread pool, DB pool) stay out of the baseline.
    await asyncio.gather(*(warm_up(entry) for entry in tokens[:5]))
    await asyncio.sleep(0.5)
    rss_before = rss_kib(args.server_pid)
    started = time.monotonic()
    tasks = [asyncio.create_task(client(entry)) for entry in tokens]
    try:
        await asyncio.wait_for(all_ready.wait(), timeout=args.connect_timeout)
    except TimeoutError:
        pass
    connect_seconds = time.monotonic() - started
    rss_connected = rss_kib(args.server_pid)

    publisher = None
    if args.publish_users:
        users_file = Path(args.report).with_suffix(".users.json")
        users_file.write_text(json.dumps([entry["user_id"] for entry in tokens[: args.publish_users]]))
        publisher = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "publish",
                "--users-file",
                str(users_file),
                "--rate",
                str(args.rate),
                "--duration",
                str(args.duration),
                "--concurrency",
                str(args.publish_concurrency),
                *(["--cpu", str(args.publisher_cpu)] if args.publisher_cpu is not None else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        publisher_out, _ = await asyncio.to_thread(publisher.communicate)
        await asyncio.sleep(args.grace)
    else:
        publisher_out = ""
        await asyncio.sleep(args.duration)
    rss_end = rss_kib(args.server_pid)
    held = sum(1 for task in tasks if not task.done())
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    per_connection = None
    if rss_before is not None and rss_connected is not None and ready:
        per_connection = round((rss_connected - rss_before) / ready, 1)
    ms = [value * 1000 for value in latencies]
    return {
        "sockets_requested": len(tokens),
        "sockets_ready": ready,
        "sockets_held_at_end": held,
        "connect_seconds": round(connect_seconds, 2),
        "closes_or_errors": closes,
        "server_rss_kib": {"before": rss_before, "connected": rss_connected, "end": rss_end},
        "server_kib_per_connection": per_connection,
        "publish_users": args.publish_users,
        "rate_per_user": args.rate,
        "publisher": json.loads(publisher_out.strip().splitlines()[-1]) if publisher_out.strip() else None,
        "received": len(ms),
        "duplicates": duplicates,
        "gaps": gaps,
        "sockets_with_gaps": sockets_with_gaps,
        "latency_ms": {
            "p50": percentile(ms, 50),
            "p90": percentile(ms, 90),
            "p99": percentile(ms, 99),
            "max": max(ms) if ms else None,
            "mean": statistics.fmean(ms) if ms else None,
        },
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def run(args: argparse.Namespace) -> None:
    raise_fd_limit()
    tokens = make_tokens(args.sockets)
    report = asyncio.run(listen(args, tokens))
    text = json.dumps(report, indent=2)
    Path(args.report).write_text(text + "\n")
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    run_parser = commands.add_parser("run", help="open sockets, publish, measure")
    run_parser.add_argument("--url", default="ws://127.0.0.1:8767/ws/notifications")
    run_parser.add_argument("--origin", default="http://127.0.0.1:8767", help="must match ALLOWED_HOSTS")
    run_parser.add_argument("--sockets", type=int, default=50)
    run_parser.add_argument("--publish-users", type=int, default=None, help="default: all sockets; 0 = idle run")
    run_parser.add_argument("--rate", type=float, default=1.0, help="messages per second per user")
    run_parser.add_argument("--duration", type=float, default=10.0, help="seconds of publishing (or idling)")
    run_parser.add_argument("--grace", type=float, default=2.0, help="seconds to wait for the last deliveries")
    run_parser.add_argument("--server-pid", type=int, default=None, help="uvicorn's pid, for VmRSS")
    run_parser.add_argument("--connect-concurrency", type=int, default=200)
    run_parser.add_argument("--connect-timeout", type=float, default=120.0)
    run_parser.add_argument("--publish-concurrency", type=int, default=8, help="publisher threads")
    run_parser.add_argument(
        "--publisher-cpu", type=int, default=None, help="pin the publisher process to this CPU (sched_setaffinity)"
    )
    run_parser.add_argument("--report", default=str(ROOT / "bench/results/ws_notifications.json"))

    publish_parser = commands.add_parser("publish", help="(internal) the publisher process")
    publish_parser.add_argument("--users-file", required=True)
    publish_parser.add_argument("--rate", type=float, default=1.0)
    publish_parser.add_argument("--duration", type=float, default=10.0)
    publish_parser.add_argument("--concurrency", type=int, default=8)
    publish_parser.add_argument("--cpu", type=int, default=None)

    args = parser.parse_args()
    if args.command == "publish":
        publish(args)
        return
    if args.publish_users is None:
        args.publish_users = args.sockets
    args.publish_users = min(args.publish_users, args.sockets)
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    run(args)


if __name__ == "__main__":
    main()
