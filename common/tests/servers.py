"""A real uvicorn process serving config.asgi:application, for tests of what only a real server shows.

`running_server(env=..., args=...)` starts `uvicorn` on a free port of 127.0.0.1 with the flags the
Makefile uses (`--no-proxy-headers`, `--ws-max-size`), waits until it says it accepts connections,
yields its base URL and stops it. Dead backends are a closed port (`CLOSED`), never a stopped service.
`rest_tier_server(env=...)` starts the services topology's REST tier the way the image does
(`WEB_ROLE=rest sh deploy/serve.sh`: granian's WSGI workers, a kept database connection per thread).
`uvicorn_in_thread(app)` serves an ASGI app in a thread of the test process instead, sharing its
database and in-process layers.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

CLOSED = "127.0.0.1:1"
ROOT = Path(__file__).resolve().parents[2]
TEST_SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
LOG: list[str] = []  # what the servers wrote to stderr after starting (pytest shows it on failure via -rA)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(env: Mapping[str, str | None]) -> dict[str, str]:
    environment = {**os.environ, "SECRET_KEY": TEST_SECRET_KEY, "LOG_LEVEL": "ERROR", "DJANGO_READ_DOT_ENV": "false"}
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


@contextlib.contextmanager
def _stopped_on_exit(process: subprocess.Popen[str]) -> Iterator[None]:
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@contextlib.contextmanager
def rest_tier_server(env: Mapping[str, str | None]) -> Iterator[str]:
    """`WEB_ROLE=rest sh deploy/serve.sh` (one granian WSGI worker, two threads) on a free port; yields its URL."""
    port = free_port()
    environment = _environment(
        {"WEB_ROLE": "rest", "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1", "WSGI_THREADS": "2"}
        | dict(env)
    )
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    command = ["sh", "deploy/serve.sh"]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    with _stopped_on_exit(process):
        threading.Thread(target=lambda: LOG.extend(process.stderr or ()), daemon=True).start()
        deadline = time.monotonic() + 30
        while True:  # granian says nothing at --log-level warning: wait for the liveness probe instead
            try:
                with urllib.request.urlopen(base + "/health/live", timeout=1):  # noqa: S310 - our own server
                    break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"deploy/serve.sh exited with {process.returncode} before listening")
                if time.monotonic() > deadline:
                    pytest.fail("the REST tier did not answer /health/live within 30 s")
                time.sleep(0.1)  # polling a port that is not open yet: there is no event to await
        yield base


@contextlib.contextmanager
def running_server(env: Mapping[str, str | None], args: tuple[str, ...] = (), port: int | None = None) -> Iterator[str]:
    """uvicorn on 127.0.0.1:<port>; `env` entries override the test's environment (None removes one)."""
    port = port or free_port()
    environment = _environment(env)
    command = [
        str(Path(sys.executable).with_name("uvicorn")),
        "config.asgi:application",
        "--host=127.0.0.1",
        f"--port={port}",
        "--lifespan=off",
        "--log-level=info",
        "--no-access-log",
        "--no-proxy-headers",
        f"--ws-max-size={environment.get('WS_MAX_MESSAGE_BYTES', '65536')}",
        *args,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True)  # noqa: S603
    with _stopped_on_exit(process):
        assert process.stderr is not None
        for line in process.stderr:  # uvicorn announces the bound socket once it accepts connections
            if "Uvicorn running on" in line:
                break
        else:
            pytest.fail(f"uvicorn exited with {process.wait()} before listening")
        # Keep reading its log so that a chatty server never blocks on a full pipe; kept for failures.
        threading.Thread(target=lambda: LOG.extend(process.stderr or ()), daemon=True).start()
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def uvicorn_in_thread(app: Any, *, log_level: str = "warning") -> Iterator[int]:
    """`app` under uvicorn with the HTTP protocol `make serve` selects, in a daemon thread of this process;
    yields the port. The socket listens before the server loop runs, so an early connection waits in the
    backlog instead of being refused."""
    import uvicorn

    from config.http_protocol import HeaderCaseHttpToolsProtocol

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, log_level=log_level, http=HeaderCaseHttpToolsProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
