"""Notifications WebSocket benchmark: N authenticated sockets, publish-to-receive latency, server memory.

    # against a server that is already running (same DATABASE_URL / REDIS_URL as the server):
    python bench/ws_notifications.py run --url ws://127.0.0.1:8767/ws/notifications \
        --sockets 2000 --publish-users 0 --duration 30 --server-pid <uvicorn pid>      # idle sockets
    python bench/ws_notifications.py run --url ws://127.0.0.1:8767/ws/notifications \
        --sockets 1000 --publish-users 1000 --rate 1 --duration 60 --server-pid <pid>  # 1 msg/s each

`run` (1) creates the users wsbench-<i>@example.com and mints one access token each through
`auth_app.services.auth_session_start` (Django is set up in this process, so it needs the server's
DATABASE_URL), (2) reads the server's VmRSS, (3) opens the sockets with the `bearer` subprotocol and
waits for every `ready`, (4) reads VmRSS again, (5) starts `publish` in a separate process, which sends
each of the first --publish-users users --rate notifications a second, users evenly phased, through
`notification_send_many` per --publish-window (`--publish-mode batch`) or `notification_send` per message
(`single`), with `data.sent_at` = the scheduled time (no coordinated omission), and (6) records
`time.time() - sent_at` for every notification received, and per socket the duplicate seqs and the
seqs missing between its first and last. It prints one JSON report (also written to --report), with
the publish rate requested and achieved and the server's and client's CPU use.

`bench/notifications/run.sh` starts the server, pins server and client to separate CPUs and raises
the file-descriptor limit; docs/benchmarks/notifications.md has the method.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
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


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process so far, from /proc/<pid>/stat."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class GcPauses:
    """A gc callback: how many collections ran and the longest pause, in this process."""

    def __init__(self) -> None:
        self.count = 0
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.count += 1
        self.longest = max(self.longest, time.perf_counter() - self._started)

    def report(self) -> dict[str, float]:
        return {"collections": self.count, "longest_pause_ms": round(self.longest * 1000, 1)}


def worst_seconds(arrivals: list[float], ms: list[float], count: int = 5) -> list[dict[str, float | int | None]]:
    """The `count` seconds of the run (by receive time) with the highest p99: where the tail comes from."""
    if not arrivals:
        return []
    start = min(arrivals)
    buckets: dict[int, list[float]] = {}
    for at, value in zip(arrivals, ms, strict=True):
        buckets.setdefault(int(at - start), []).append(value)
    rows = [
        {"second": second, "at": round(start + second, 1), "received": len(values), "p99": percentile(values, 99)}
        for second, values in buckets.items()
    ]
    return sorted(rows, key=lambda row: row["p99"] or 0, reverse=True)[:count]


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


def schedule(user_ids: list[str], rate: float, duration: float) -> list[tuple[float, str]]:
    """`(offset, user)` for every message: each user `rate` times a second, users evenly phased.

    User i of N sends at i/N of the interval and every interval after that, as independent users
    would; the whole population together makes a steady N x rate messages per second.
    """
    interval = 1.0 / rate
    ticks = max(1, round(duration * rate))
    count = len(user_ids)
    return sorted(
        (tick * interval + index * interval / count, user_id)
        for tick in range(ticks)
        for index, user_id in enumerate(user_ids)
    )


def publish(args: argparse.Namespace) -> None:
    """Send every scheduled message at its time, through the notifications service.

    `--mode single`: one `notification_send` per message (a transaction each), in `--concurrency`
    threads. `--mode batch`: every `--window` seconds, one `notification_send_many` for the users due
    in that window (one transaction per window). Every message is started at its scheduled time
    whether or not earlier ones have finished (no coordinated omission), and `data.sent_at` is the
    scheduled time (in batch mode the earliest one of the window, which over-states latency by up to
    one window), so a publisher that falls behind shows up as latency. The rate actually achieved
    is reported beside the requested one.
    """
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # explicit: the publisher shares the client's CPU
    django_setup()
    from asgiref.sync import sync_to_async

    from notifications.services import notification_send, notification_send_many

    user_ids: list[str] = json.loads(Path(args.users_file).read_text())
    plan = schedule(user_ids, args.rate, args.duration)

    def send(users: list[str], sent_at: float) -> int:
        data = {"sent_at": sent_at}
        if args.mode == "single":
            notification_send(user_id=users[0], kind="system.message", title="bench", data=data)
            return 1
        return len(notification_send_many(user_ids=users, kind="system.message", title="bench", data=data))

    async def main() -> None:
        # Publishing from a running loop reuses its channel-layer connections (async_to_sync inside the
        # thread hops back onto this loop) instead of opening a loop and a connection per message.
        threads = asyncio.Semaphore(args.concurrency)
        asend = sync_to_async(send, thread_sensitive=False)
        published = errors = in_flight = max_in_flight = 0

        async def one(users: list[str], sent_at: float) -> None:
            nonlocal published, errors, in_flight
            in_flight += len(users)
            try:
                async with threads:
                    sent = await asend(users, sent_at)
                published += sent
            except Exception:
                errors += len(users)
            finally:
                in_flight -= len(users)

        start_wall = time.time() + 0.2
        start_mono = time.monotonic() + 0.2
        pending: list[asyncio.Task[None]] = []
        position = 0
        while position < len(plan):
            window_end = plan[position][0] + args.window
            due = []
            while position < len(plan) and plan[position][0] < window_end:
                due.append(plan[position])
                position += 1
            delay = start_mono + due[0][0] - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            max_in_flight = max(max_in_flight, in_flight)
            if args.mode == "single":
                pending.extend(asyncio.create_task(one([user], start_wall + offset)) for offset, user in due)
            else:
                pending.append(asyncio.create_task(one([user for _, user in due], start_wall + due[0][0])))
            pending = [task for task in pending if not task.done()]
        await asyncio.gather(*pending)
        elapsed = time.monotonic() - start_mono
        window = max(1.0 / args.rate * round(args.duration * args.rate), 1e-9)
        print(
            json.dumps(
                {
                    "mode": args.mode,
                    "window_ms": round(args.window * 1000, 1),
                    "published": published,
                    "errors": errors,
                    "requested_per_second": round(len(user_ids) * args.rate, 1),
                    # Over the schedule's length, or longer when the sends overran it.
                    "achieved_per_second": round(published / max(elapsed, window), 1),
                    "seconds": round(elapsed, 2),
                    "max_in_flight": max_in_flight,
                    "cpu": args.cpu,
                    "cpu_seconds": round(time.process_time(), 2),
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
    arrivals: list[float] = []  # receive times, parallel to `latencies`
    closes: dict[str, int] = {}
    duplicates = 0
    gaps = 0  # seqs missing between the first and the last one each socket received
    sockets_with_gaps = 0
    ready = 0
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
                async for raw in socket:  # until the run ends and cancels this task
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
                            arrivals.append(received_at)
        except ConnectionClosed as closed:
            code = str(closed.rcvd.code if closed.rcvd else "no-close-frame")
            closes[code] = closes.get(code, 0) + 1
        except Exception as error:
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
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_ready.wait(), timeout=args.connect_timeout)
    connect_seconds = time.monotonic() - started
    rss_connected = rss_kib(args.server_pid)
    # The client is the measuring instrument: its own collector pauses would show up as latency.
    # Freeze what exists (the sockets) and record the pauses that remain, so the report tells them apart.
    gc.collect()
    gc.freeze()
    client_gc = GcPauses()
    gc.callbacks.append(client_gc)
    server_cpu_start, client_cpu_start = cpu_seconds(args.server_pid), time.process_time()
    load_started = time.monotonic()

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
                "--mode",
                args.publish_mode,
                "--window",
                str(args.publish_window),
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
    load_seconds = time.monotonic() - load_started
    server_cpu_end = cpu_seconds(args.server_pid)
    server_cpu = None
    if server_cpu_start is not None and server_cpu_end is not None:
        server_cpu = round((server_cpu_end - server_cpu_start) / load_seconds * 100, 1)
    held = sum(1 for task in tasks if not task.done())
    for task in tasks:
        task.cancel()
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
        # Share of one core used while publishing (or idling), in percent.
        "cpu_percent": {
            "server": server_cpu,
            "client": round((time.process_time() - client_cpu_start) / load_seconds * 100, 1),
        },
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
        "worst_seconds": worst_seconds(arrivals, ms),
        "client_gc": client_gc.report(),
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
        "--publish-mode",
        choices=["single", "batch"],
        default="batch",
        help="notification_send per message, or notification_send_many per window",
    )
    run_parser.add_argument("--publish-window", type=float, default=0.01, help="seconds of schedule per batch")
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
    publish_parser.add_argument("--mode", choices=["single", "batch"], default="batch")
    publish_parser.add_argument("--window", type=float, default=0.01)

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
