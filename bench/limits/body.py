"""Send one large body per (route, framing) to a running server and report what it cost the server.

Used by bench/limits/run.sh; prints a Markdown table. See there for the columns.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common.tests.rawhttp import body_chunks, request_head, send_until_answered

ROUTES = ["/api/v1/auth/login", "/api/v1/notifications/events", "/health/live"]


def proc_field(pid: int, name: str, field: str) -> int:
    with open(f"/proc/{pid}/{name}") as source:
        for line in source:
            key, _, value = line.partition(":")
            if key.strip() == field:
                return int(value.split()[0])
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """Make VmHWM start from the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as sink:
        sink.write("5")


async def _ws_oversize(port: int, size: int) -> int | None:
    """Open an unauthenticated WebSocket, send one `size`-byte text frame, return the close code."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(f"ws://127.0.0.1:{port}/ws/notifications", max_size=None, open_timeout=10) as client:
        try:
            await client.send('{"type": "auth", "token": "' + "x" * size + '"}')
            await asyncio.wait_for(client.recv(), 10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


def websocket_frames(port: int, pid: int, size_mb: int, parallel: int) -> None:
    """`parallel` sockets each send one `size_mb` frame before authenticating (the issue's probe: 4 x 16 MB)."""
    before_rss = proc_field(pid, "status", "VmRSS")
    reset_peak(pid)
    before_read = proc_field(pid, "io", "rchar")

    async def run() -> list[int | None]:
        return list(await asyncio.gather(*(_ws_oversize(port, size_mb * 2**20) for _ in range(parallel))))

    started = time.perf_counter()
    codes = asyncio.run(run())
    elapsed = time.perf_counter() - started
    time.sleep(0.5)
    read = proc_field(pid, "io", "rchar") - before_read
    grown = proc_field(pid, "status", "VmHWM") - before_rss
    print()
    print("| WebSocket frames before auth | close codes | server read MiB | RSS + MiB | time s |")
    print("|---|---|---:|---:|---:|")
    closes = sorted(set(codes), key=str)
    print(f"| {parallel} x {size_mb} MB | {closes} | {read / 2**20:.2f} | {max(0, grown) / 1024:.2f} | {elapsed:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--ws-frame-mb", type=int, default=16)
    parser.add_argument("--ws-parallel", type=int, default=4)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    print(f"| route | framing | status | sent MiB (of {args.size_mb}) | server read MiB | RSS + MiB | time s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for path in ROUTES:
        for chunked in (False, True):
            before_rss = proc_field(args.server_pid, "status", "VmRSS")
            reset_peak(args.server_pid)
            before_read = proc_field(args.server_pid, "io", "rchar")
            answer = send_until_answered(
                args.port, request_head(path, size=size, chunked=chunked), body_chunks(size, chunked=chunked), wait=60
            )
            status, sent, elapsed = answer.status, answer.sent, answer.seconds
            time.sleep(0.5)  # let the server finish closing the connection before reading its counters
            read = proc_field(args.server_pid, "io", "rchar") - before_read
            grown = proc_field(args.server_pid, "status", "VmHWM") - before_rss
            framing = "chunked" if chunked else "Content-Length"
            print(
                f"| `{path}` | {framing} | {status} | {sent / 2**20:.2f} | {read / 2**20:.2f} | "
                f"{max(0, grown) / 1024:.2f} | {elapsed:.2f} |"
            )

    websocket_frames(args.port, args.server_pid, args.ws_frame_mb, args.ws_parallel)


if __name__ == "__main__":
    main()
