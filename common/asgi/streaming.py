"""A request body handed to the view while it arrives, instead of read whole first (REQUEST_BODY_STREAMED).

Django's `ASGIHandler` reads the whole body into a SpooledTemporaryFile (on disk past
FILE_UPLOAD_MAX_MEMORY_SIZE) before the view runs, so an upload is written to disk once there and
once more by its upload handler. On a streamed route the handler (handler.py) gives Django a
`StreamedBody` instead, and Django's request reads it like that file:

- an asyncio task (the pump) moves `http.request` messages from `receive` into a queue holding at
  most ASGI_STREAMED_BODY_BUFFER_BYTES; when it is full the pump stops calling `receive`, the server
  stops reading the socket, and TCP slows the client down (back-pressure);
- the request's thread takes them with blocking `read(n)` calls (Django's multipart parser, or a
  view's `request.read`), so each chunk goes from the socket straight to where the view writes it;
- the pump starts at the first read: a request refused before its view reads (401, 403, 429) reads
  nothing of its body, and a client that sent `Expect: 100-continue` is never asked for it;
- reading fails, at the point where the body went wrong, with: `RequestDataTooBig` (413
  `payload_too_large`) past the route's limit (a body without Content-Length: the declared ones were
  refused by RequestGuard and the server delivers no more than declared), `RequestTimeout` (408
  `request_timeout`) when no body bytes came for REQUEST_BODY_IDLE_TIMEOUT_SECONDS, and Django's
  `RequestAborted` when the client went away;
- Django's disconnect listener gets the server's `receive` only once the body was read to its end
  (until then the pump owns it: two readers would take each other's messages). A disconnect the pump
  saw is passed to the listener, so Django cancels the request as it does for a body read whole;
- a response that starts before the body's end (a refusal mid-body, or before it) stops the pump
  and says `Connection: close`, so the server closes the connection instead of reading the rest.
"""

from __future__ import annotations

import asyncio
import enum
import queue
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.core.exceptions import RequestAborted, RequestDataTooBig

from common.errors import RequestTimeout

from .limits import too_large_detail

__all__ = ["AfterBodyReceive", "StreamedBody", "streamed_body_parseable"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Any], Awaitable[None]]
_LOOP_CHECK_SECONDS = 5.0


class End(enum.Enum):
    """Why the pump stopped."""

    COMPLETE = "the body was read to its end"
    DISCONNECTED = "the client went away"
    TOO_LARGE = "more than the route's limit"
    IDLE = "no body bytes within the idle timeout"
    STOPPED = "the body was closed, or the response started, before its end"


class StreamedBody:
    """A file-like request body fed from ASGI `receive` (see the module docstring).

    `read`, `readline` and `close` may be called from the request's thread; `stop` and `stopped`
    belong to the event loop that created it.
    """

    def __init__(self, receive: Receive, *, limit: int, buffer_bytes: int, idle_timeout: float) -> None:
        self._receive = receive
        self.limit = limit
        self._buffer_bytes = buffer_bytes
        self._idle_timeout = idle_timeout
        self._loop = asyncio.get_running_loop()
        self._chunks: queue.SimpleQueue[bytes | End] = queue.SimpleQueue()
        self._task: asyncio.Task[None] | None = None
        # The event loop's side.
        self._queued = 0
        self._space = asyncio.Event()
        self._ended = asyncio.Event()
        self.end: End | None = None
        self.received = 0  # body bytes taken from `receive`
        # The reading thread's side.
        self._start_asked = False
        self._seen_end: End | None = None
        self._left = b""
        self.closed = False

    # --- the reading thread -----------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._left]
            self._left = b""
            while chunk := self._next():
                parts.append(chunk)
            return b"".join(parts)
        if not self._left:
            self._left = self._next()
        data, self._left = self._left[:size], self._left[size:]
        return data

    def readline(self, size: int | None = -1) -> bytes:
        line = b""
        while not line.endswith(b"\n") and (size is None or size < 0 or len(line) < size):
            if not self._left:
                self._left = self._next()
                if not self._left:
                    break
            want = len(self._left) if size is None or size < 0 else size - len(line)
            cut = self._left.find(b"\n", 0, want)
            take = want if cut < 0 else cut + 1
            line, self._left = line + self._left[:take], self._left[take:]
        return line

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def close(self) -> None:
        """Read no more (Django closes the request's stream when it is done with the request)."""
        if self.closed:
            return
        self.closed = True
        self._left = b""
        if self._on_loop():
            self.stop()
        else:
            self._call_soon(self.stop)

    def _next(self) -> bytes:
        """The next chunk (b"" at the end), waiting for the pump; raises what ended the body early."""
        if self.closed and self._seen_end is None:
            self._seen_end = End.STOPPED
        if self._seen_end is None and not self._start_asked:
            if self._on_loop():  # a blocking get here would stop the loop that fills the queue
                raise RuntimeError("A streamed request body is read from a sync view's thread, not the event loop.")
            self._start_asked = True
            self._call_soon(self._start)
        if self._seen_end is None:
            item = self._take()
            if not isinstance(item, End):
                self._call_soon(self._taken, len(item))
                return item
            self._seen_end = item
        if self._seen_end is End.COMPLETE:
            return b""
        if self._seen_end is End.TOO_LARGE:
            raise RequestDataTooBig(too_large_detail(self.limit, None))
        if self._seen_end is End.IDLE:
            raise RequestTimeout(f"No part of the request body arrived for {self._idle_timeout:g} seconds.")
        raise RequestAborted()

    def _take(self) -> bytes | End:
        """The pump's next item. It always ends with an `End`, whatever stops it, while its loop runs; the
        loop closing under a waiting read (the process shutting down) ends the body too."""
        while True:
            try:
                return self._chunks.get(timeout=_LOOP_CHECK_SECONDS)
            except queue.Empty:
                if self._loop.is_closed():
                    return End.STOPPED

    def _call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the request is over
            self._seen_end = self._seen_end or End.STOPPED

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    # --- the event loop -----------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None and self.end is None:
            self._task = self._loop.create_task(self._pump(), name="streamed-body-pump")

    def _taken(self, size: int) -> None:
        self._queued -= size
        if self._queued < self._buffer_bytes:
            self._space.set()

    async def _pump(self) -> None:
        end = End.STOPPED  # unless something below says otherwise (a cancellation, an error in receive)
        try:
            while True:
                while self._queued >= self._buffer_bytes:
                    self._space.clear()
                    await self._space.wait()
                try:
                    async with asyncio.timeout(self._idle_timeout):
                        message = await self._receive()
                except TimeoutError:
                    end = End.IDLE
                    return
                if message["type"] != "http.request":
                    end = End.DISCONNECTED
                    return
                chunk = message.get("body", b"")
                self.received += len(chunk)
                if self.received > self.limit:
                    end = End.TOO_LARGE
                    return
                if chunk:
                    self._queued += len(chunk)
                    self._chunks.put(chunk)
                if not message.get("more_body", False):
                    end = End.COMPLETE
                    return
        finally:
            self._finish(end)

    def _finish(self, end: End) -> None:
        if self.end is None:
            self.end = end
            self._chunks.put(end)
            self._ended.set()

    def stop(self) -> None:
        """Take no more from `receive`; a read still waiting, or any later, fails with RequestAborted."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._finish(End.STOPPED)  # a task cancelled before its first step never runs its `finally`

    async def stopped(self) -> None:
        """Wait until the pump has returned (after `stop`, or at the body's end)."""
        if self._task is not None:
            await asyncio.wait([self._task])

    async def receive_after_body(self) -> Message:
        """`receive` for Django's disconnect listener: the server's own once the body was read to its end."""
        await self._ended.wait()
        if self.end is End.COMPLETE:
            return await self._receive()
        if self.end is End.DISCONNECTED:
            return {"type": "http.disconnect"}
        await asyncio.Future()  # the rest of the body stays unread; Django cancels this once it has answered
        raise AssertionError("unreachable")

    def send_through(self, send: Send) -> Send:
        """`send`, stopping the pump and closing the connection when the response starts before the body's end."""

        async def send_and_stop(message: Message) -> None:
            if message["type"] == "http.response.start" and self.end is not End.COMPLETE:
                self.stop()
                headers = list(message.get("headers") or ())
                if not any(key.lower() == b"connection" for key, _ in headers):
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        return send_and_stop


class AfterBodyReceive:
    """The `receive` Django's handler is given on a streamed route (handler.py)."""

    def __init__(self, body: StreamedBody) -> None:
        self.body = body

    async def __call__(self) -> Message:
        return await self.body.receive_after_body()


def streamed_body_parseable(request: Any) -> None:
    """Let Django's and DRF's parsers read a streamed body that came without a Content-Length.

    Both read nothing from a request without CONTENT_LENGTH. A streamed body without one (chunked, or
    HTTP/2) ends where the client's body ends and refuses more than the route's limit, so CONTENT_LENGTH
    becomes that limit: an upper bound, not the length (a view that compares CONTENT_LENGTH with a size
    must not call this). Any other request is left as it is.
    """
    stream = getattr(request, "_stream", None)
    if isinstance(stream, StreamedBody) and not request.META.get("CONTENT_LENGTH"):
        request.META["CONTENT_LENGTH"] = str(stream.limit)
