"""The simulator's HTTP/1.1: a minimal request parser and response writer.

One :class:`Connection` per client socket parses pipelined requests, hands each
to a :class:`Handler` (the simulator) and writes the answers back in request
order, honouring keep-alive. It knows nothing of the gateway contract.

It is a raw :class:`asyncio.Protocol`, not a web framework: benchmarks need the
simulator far faster than any client under test (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import collections
import json
from typing import Protocol

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def response(
    status: int, body: bytes, *, close: bool = False, extra: tuple[str, ...] = ()
) -> bytes:
    """The bytes of one JSON answer; ``extra`` holds more ``Name: value`` header lines."""
    head = [
        f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *extra,
    ]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def detail(status: int, text: str, *, close: bool = False) -> bytes:
    """An error answer with a ``{"detail": text}`` body."""
    return response(status, json.dumps({"detail": text}).encode(), close=close)


def with_close(data: bytes) -> bytes:
    """``data`` (a whole answer) with a ``Connection: close`` header added."""
    return data.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)


class BadRequest(Exception):
    """A request the parser cannot go on after: answered ``status`` and the connection closed."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class Handler(Protocol):
    """What a :class:`Connection` needs from the server behind it."""

    def connection_opened(self, conn: Connection) -> bool:
        """Register ``conn``; ``False`` refuses it (the connection is reset at once)."""

    def connection_closed(self, conn: Connection) -> None:
        """Forget ``conn``."""

    def handle(
        self,
        conn: Connection,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        keep_alive: bool,
    ) -> None:
        """Answer one request, through ``conn.answer(conn.slot(), ...)`` or ``conn.drop()``."""

    def record_accept(self, msg_id: int) -> None:
        """Count an accepted answer, called when it is written."""


class Slot:
    """One request's place in a connection's answer order (pipelining answers in order)."""

    __slots__ = ("accept_id", "data")

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.accept_id: int | None = None


class Connection(asyncio.Protocol):
    """One client connection: parse requests, answer them in order, honour keep-alive.

    Answers ready in the same loop turn go out in one write: one ``send()`` per
    answer was a quarter of the server's time under pipelined load.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.need = 0  # bytes the buffered request needs before it is worth parsing again
        self.queue: collections.deque[Slot] = collections.deque()
        self.timers: set[asyncio.TimerHandle] = set()
        self.flush_scheduled = False
        # After a "Connection: close" request (or a malformed one) nothing more
        # is parsed; the connection closes once every earlier answer is out.
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.handler.connection_opened(self):
            self.drop()

    def connection_lost(self, exc: Exception | None) -> None:
        self.handler.connection_closed(self)
        # Answers still waiting are never sent, hence never counted as accepted.
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        self.queue.clear()
        self.transport = None

    def drop(self) -> None:
        """Reset the connection now: nothing pending or pipelined is answered."""
        self.closing = True
        if self.transport is not None:
            self.transport.abort()
        # abort() reports connection_lost on the next loop turn; dropping the
        # timers and the queue now makes sure nothing is answered in between.
        self.connection_lost(None)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.buf:
            data = self.buf + data
            if len(data) < self.need:
                self.buf = data
                return
        try:
            self.buf = self._parse(data)
        except BadRequest as err:
            self.buf = b""
            self._fatal(err.status, err.text)
        self._flush()

    def _parse(self, data: bytes) -> bytes:
        """Handle every complete request in ``data``; returns the incomplete rest."""
        pos = 0
        size = len(data)
        self.need = 0
        handle = self.handler.handle
        while not self.closing and pos < size:
            if data.startswith(b"\r\n", pos):  # RFC 9112 2.2: tolerate stray CRLFs
                pos += 2
                continue
            end = data.find(b"\r\n\r\n", pos)
            if end < 0:
                if size - pos > MAX_HEAD:
                    raise BadRequest(431, "headers too large")
                break
            lines = data[pos:end].decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                raise BadRequest(400, "bad request line")
            method, target, version = parts
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep or not name or name != name.strip():
                    raise BadRequest(400, "bad header line")
                headers[name.lower()] = value.strip()
            if "transfer-encoding" in headers:
                raise BadRequest(501, "chunked bodies are not supported")
            raw_length = headers.get("content-length", "0")
            if not (raw_length.isascii() and raw_length.isdigit()):
                raise BadRequest(400, "bad content-length")
            length = int(raw_length)
            if length > MAX_BODY:
                raise BadRequest(413, "body too large")
            total = end + 4 + length
            if total > size:
                self.need = total - pos
                break
            body = data[end + 4 : total]
            pos = total
            connection = headers.get("connection", "").lower()
            if version == "HTTP/1.0":
                keep_alive = "keep-alive" in connection
            else:
                keep_alive = "close" not in connection
            if not keep_alive:
                # Whatever was pipelined after a "Connection: close" is never answered.
                self.closing = True
            handle(self, method, target, headers, body, keep_alive)
        return b"" if self.closing else data[pos:]

    def _fatal(self, status: int, text: str) -> None:
        self.closing = True
        self.answer(self.slot(), detail(status, text, close=True), None, 0.0)

    def slot(self) -> Slot:
        """A new place at the end of the answer order."""
        slot = Slot()
        self.queue.append(slot)
        return slot

    def answer(self, slot: Slot, data: bytes, accept_id: int | None, delay: float) -> None:
        """Fill ``slot`` now or after ``delay`` seconds; the caller or the loop flushes."""
        if delay <= 0:
            slot.data = data
            slot.accept_id = accept_id
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self.timers.discard(handle)
            slot.data = data
            slot.accept_id = accept_id
            # Timers due in the same loop turn share one write.
            if not self.flush_scheduled:
                self.flush_scheduled = True
                loop.call_soon(self._flush)

        handle = loop.call_later(delay, fire)
        self.timers.add(handle)

    def _flush(self) -> None:
        self.flush_scheduled = False
        transport = self.transport
        if transport is None:
            return
        queue = self.queue
        out: list[bytes] = []
        record = self.handler.record_accept
        while queue and queue[0].data is not None:
            slot = queue.popleft()
            assert slot.data is not None
            out.append(slot.data)
            if slot.accept_id is not None:
                record(slot.accept_id)
        if out:
            # One answer goes out as is: no copy of a huge body.
            transport.write(out[0] if len(out) == 1 else b"".join(out))
        if self.closing and not queue:
            transport.close()
