"""Open one WebSocket to a running server and say how far the conversation got.

    python bench/servers/ws_probe.py ws://127.0.0.1:8765/ws/notifications --expect-close 4401 --within 3.5 --wait 6

Without a token our sockets are accepted and then closed by the server with 4401 once
WS_AUTH_TIMEOUT_SECONDS pass: the close is sent by a timer task while the consumer is waiting for the
client, which is exactly what live pushes and token-expiry closes need from the server.

Exit 0 when the handshake completed (101) and, with --expect-close, the server's close frame with
that code arrived (by --within seconds when given; the probe gives up after --wait). Exit 1
otherwise: refused, failed, no close, or a late one.
"""

import argparse
import sys
import time
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


def probe(url: str, origin: str, wait: float, expect_close: int | None, within: float | None) -> tuple[bool, str]:
    started = time.monotonic()
    try:
        with connect(url, origin=origin, open_timeout=5, close_timeout=2) as socket:  # type: ignore[arg-type]
            try:
                socket.recv(timeout=wait)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                elapsed = time.monotonic() - started
                ok = (expect_close is None or code == expect_close) and (within is None or elapsed <= within)
                late = "" if within is None or elapsed <= within else f" (late: expected within {within:g} s)"
                return ok, f"101, then the server closed with {code} after {elapsed:.1f} s{late}"
            except TimeoutError:
                return expect_close is None, f"101, but no close from the server within {wait:g} s"
            return expect_close is None, "101, and a message arrived before any close"
    except InvalidStatus as refused:
        return False, f"handshake refused with HTTP {refused.response.status_code}"
    except Exception as error:
        return False, f"failed: {type(error).__name__}: {error}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--origin", help="Origin header (default: http://<host:port of url>)")
    parser.add_argument("--wait", type=float, default=8.0, help="seconds to wait for the server to close")
    parser.add_argument("--expect-close", type=int, help="close code the server must send")
    parser.add_argument("--within", type=float, help="seconds after connecting by which the close must arrive")
    args = parser.parse_args()
    origin = args.origin or f"http://{urlsplit(args.url).netloc}"
    ok, outcome = probe(args.url, origin, args.wait, args.expect_close, args.within)
    print(outcome)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
