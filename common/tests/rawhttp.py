"""A raw HTTP/1.1 client that keeps sending a body until the server answers (or closes).

For tests and bench/limits: how much of a large body a client gets onto the connection before the
server's refusal reaches it. Plain sockets and `select`, no test framework, so the benchmark can use it.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

CHUNK = 64 * 1024


def body_chunks(total: int, *, chunked: bool, size: int = CHUNK) -> Iterator[bytes]:
    """`total` bytes of body in `size` pieces, framed for Transfer-Encoding: chunked when `chunked`."""
    piece = b"x" * size
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (size, piece) if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


def request_head(path: str, *, size: int, chunked: bool) -> bytes:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode()


@dataclass
class Answer:
    received: bytes  # everything the server sent
    sent: int  # body bytes the client got onto the connection
    seconds: float  # until the response was complete (or the connection closed)

    @property
    def complete(self) -> bool:
        _head, separator, payload = self.received.partition(b"\r\n\r\n")
        if not separator:
            return False
        length = self.headers.get(b"content-length")
        return length is not None and len(payload) >= int(length)

    @property
    def status(self) -> int:
        return int(self.received.split(b" ", 2)[1]) if self.received else 0

    @property
    def headers(self) -> dict[bytes, bytes]:
        head = self.received.partition(b"\r\n\r\n")[0]
        pairs = (line.partition(b": ") for line in head.split(b"\r\n")[1:])
        return {name.lower(): value for name, _, value in pairs}

    @property
    def payload(self) -> bytes:
        return self.received.partition(b"\r\n\r\n")[2]


def send_until_answered(port: int, head: bytes, body: Iterator[bytes], *, wait: float = 20.0) -> Answer:
    """Send `head`, then `body` as fast as the connection takes it, reading whenever the server answers.

    Stops sending once the response is complete or the server has closed its side; gives up after `wait`.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)  # little of our own buffering
    sock.sendall(head)
    sock.setblocking(False)
    answer = Answer(received=b"", sent=0, seconds=0.0)
    pending, sending = b"", True
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < wait:
            readable, writable, _ = select.select([sock], [sock] if sending else [], [], 1.0)
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                answer.received += data
                if not data or answer.complete:
                    break
            if writable and sending:
                pending = pending or next(body, b"")
                if not pending:
                    sending = False
                    continue
                try:
                    count = sock.send(pending)
                except OSError as exc:  # the server closed its side: stop sending, read the answer
                    if exc.errno not in (errno.EPIPE, errno.ECONNRESET):
                        raise
                    sending = False
                    continue
                answer.sent, pending = answer.sent + count, pending[count:]
    finally:
        sock.close()
    answer.seconds = time.perf_counter() - started
    return answer
