"""Send one large body per (route, framing) to a running server and report what it cost the server.

Used by bench/limits/run.sh; prints a Markdown table. See there for the columns.
"""

from __future__ import annotations

import argparse
import errno
import select
import socket
import time
from collections.abc import Iterator

CHUNK = 64 * 1024
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


def body(size: int, chunked: bool) -> Iterator[bytes]:
    piece = b"x" * CHUNK
    for _ in range(size // CHUNK):
        yield b"%x\r\n%s\r\n" % (CHUNK, piece) if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


def send(port: int, path: str, size: int, chunked: bool) -> tuple[int, int, float]:
    """(status, body bytes sent, seconds until the response was complete)."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(head.encode())
    sock.setblocking(False)
    chunks, pending, sent, received, sending = body(size, chunked), b"", 0, b"", True
    started = time.perf_counter()
    while time.perf_counter() - started < 60:
        readable, writable, _ = select.select([sock], [sock] if sending else [], [], 1.0)
        if readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            received += data
            if not data or b"\r\n\r\n" in received and received.split(b"\r\n\r\n", 1)[1].endswith(b"}"):
                break
        if writable and sending:
            pending = pending or next(chunks, b"")
            if not pending:
                sending = False
                continue
            try:
                count = sock.send(pending)
            except OSError as exc:
                if exc.errno not in (errno.EPIPE, errno.ECONNRESET):
                    raise
                sending = False
                continue
            sent, pending = sent + count, pending[count:]
    elapsed = time.perf_counter() - started
    sock.close()
    status = int(received.split(b" ", 2)[1]) if received else 0
    return status, sent, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--size-mb", type=int, default=200)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    print(f"| route | framing | status | sent MiB (of {args.size_mb}) | server read MiB | RSS + MiB | time s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for path in ROUTES:
        for chunked in (False, True):
            before_rss = proc_field(args.server_pid, "status", "VmRSS")
            reset_peak(args.server_pid)
            before_read = proc_field(args.server_pid, "io", "rchar")
            status, sent, elapsed = send(args.port, path, size, chunked)
            time.sleep(0.5)  # let the server finish closing the connection before reading its counters
            read = proc_field(args.server_pid, "io", "rchar") - before_read
            grown = proc_field(args.server_pid, "status", "VmHWM") - before_rss
            framing = "chunked" if chunked else "Content-Length"
            print(
                f"| `{path}` | {framing} | {status} | {sent / 2**20:.2f} | {read / 2**20:.2f} | "
                f"{max(0, grown) / 1024:.2f} | {elapsed:.2f} |"
            )


if __name__ == "__main__":
    main()
