"""A gateway simulator: a real HTTP/1.1 server on loopback that speaks GATEWAY.md.

It answers ``POST {prefix}/send/{msgId}`` like the public gateway, with faults
injected at configurable rates (HTTP 500, 429, garbage 200s, slow answers, ...),
an outage switch that refuses connections, and counters that let a test or a
benchmark check what the gateway really accepted (duplicates included).

It is a raw :class:`asyncio.Protocol` server with a minimal HTTP/1.1 parser, not
a web framework: the benchmarks need it to be far faster than any client under
test (PERFORMANCE.md: ~110k req/s on one core against ~25k for aiohttp.web).

Extra endpoints, without auth, so another process can drive it:

- ``GET /stats``: counters as JSON (``window_s`` = last accept - first accept);
- ``POST /reset``: clear the counters;
- ``POST /config``: a JSON object of :class:`SimulatorConfig` fields to change.

Run it standalone with ``python -m notifier_tui.sim.simulator --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import json
import math
import random
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
_KEEP_BODIES = 1000
_REASONS = {
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
}
_PHONE_MIN = 70_000_000_000
_PHONE_MAX = 79_999_999_999
_OK_BODY = b'{"code":0,"message":"OK"}'
_DECODE = json.JSONDecoder().decode
_RATE_FIELDS = (
    "fail_rate",
    "garbage_rate",
    "nonzero_code_rate",
    "throttle_rate",
    "slow_rate",
    "permanent_rate",
)


@dataclass
class SimulatorConfig:
    """How the simulated gateway behaves; mutable, read afresh for every request.

    The fault shares are drawn from one uniform number per request, in the order
    fail, throttle, garbage, nonzero code, permanent, slow; if they add up to
    more than 1 the later ones get what is left.

    Attributes:
        latency_ms: Delay added before every ``/send`` answer.
        jitter_ms: Uniform +- jitter on ``latency_ms`` (never below zero).
        fail_rate: Share answered HTTP 500.
        garbage_rate: Share answered 200 with a body that is not JSON.
        nonzero_code_rate: Share answered 200 ``{"code": 1, "message": "rejected"}``.
        throttle_rate: Share answered 429 with ``Retry-After: retry_after_s``.
        retry_after_s: The ``Retry-After`` of throttled answers, in seconds.
        slow_rate: Share answered (accepted) only after ``slow_ms``, to exceed a client timeout.
        slow_ms: Delay of the slow answers.
        permanent_rate: Share answered 400 ``{"detail": "bad phone"}``.
        token: When set, a missing or different bearer token is answered 401.
        seed: Seed of the fault draws, for reproducible runs.
        prefix: Path prefix before ``/send/{msgId}``.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fail_rate: float = 0.0
    garbage_rate: float = 0.0
    nonzero_code_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after_s: float = 1.0
    slow_rate: float = 0.0
    slow_ms: float = 10_000.0
    permanent_rate: float = 0.0
    token: str | None = None
    seed: int | None = None
    prefix: str = "/v1"

    def __post_init__(self) -> None:
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("latency_ms", "jitter_ms", "retry_after_s", "slow_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def __repr__(self) -> str:
        # The token is a secret even in a simulator: say only whether one is set.
        fields = [
            f"{f.name}={'<set>' if getattr(self, f.name) else None}"
            if f.name == "token"
            else f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
        ]
        return f"SimulatorConfig({', '.join(fields)})"


def _config_update(config: SimulatorConfig, changes: object) -> SimulatorConfig:
    """A copy of ``config`` with ``changes`` (a decoded ``POST /config`` body) applied.

    Raises:
        ValueError: not an object, an unknown field, a value of the wrong type or range.
    """
    if not isinstance(changes, dict):
        raise ValueError("body must be a JSON object")
    types = {f.name: f.type for f in dataclasses.fields(SimulatorConfig)}
    for name, value in changes.items():
        kind = types.get(name)
        if kind is None:
            raise ValueError(f"unknown field {name!r}")
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        ok = {
            "float": is_number,
            "str": isinstance(value, str),
            "str | None": value is None or isinstance(value, str),
            "int | None": value is None or (isinstance(value, int) and not isinstance(value, bool)),
        }[str(kind)]
        if not ok:
            raise ValueError(f"{name} must be {kind}, got {type(value).__name__}")
    return dataclasses.replace(config, **changes)


def _response(
    status: int, body: bytes, *, close: bool = False, extra: tuple[str, ...] = ()
) -> bytes:
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *extra,
    ]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _detail(status: int, detail: str, *, close: bool = False) -> bytes:
    return _response(status, json.dumps({"detail": detail}).encode(), close=close)


_OK = _response(200, _OK_BODY)
_OK_CLOSE = _response(200, _OK_BODY, close=True)


class _Slot:
    """One request's place in a connection's answer order (pipelining answers in order)."""

    __slots__ = ("accept_id", "data")

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.accept_id: int | None = None


class _Connection(asyncio.Protocol):
    """One client connection: parse requests, answer them in order, honour keep-alive.

    Answers ready in the same loop turn go out in one write: one ``send()`` per
    answer was a quarter of the server's time under pipelined load.
    """

    def __init__(self, sim: GatewaySimulator) -> None:
        self.sim = sim
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.need = 0  # bytes the buffered request needs before it is worth parsing again
        self.queue: collections.deque[_Slot] = collections.deque()
        self.timers: set[asyncio.TimerHandle] = set()
        self.flush_scheduled = False
        # After a "Connection: close" request (or a malformed one) nothing more
        # is parsed; the connection closes once every earlier answer is out.
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sim._connections.add(self)
        self.sim.connections_opened += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.sim._connections.discard(self)
        # Answers still waiting are never sent, hence never counted as accepted.
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        self.queue.clear()
        self.transport = None

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
        except _BadRequest as err:
            self.buf = b""
            self._fatal(err.status, err.detail)
        self._flush()

    def _parse(self, data: bytes) -> bytes:
        """Handle every complete request in ``data``; returns the incomplete rest."""
        pos = 0
        size = len(data)
        self.need = 0
        while not self.closing and pos < size:
            if data.startswith(b"\r\n", pos):  # RFC 9112 2.2: tolerate stray CRLFs
                pos += 2
                continue
            end = data.find(b"\r\n\r\n", pos)
            if end < 0:
                if size - pos > _MAX_HEAD:
                    raise _BadRequest(431, "headers too large")
                break
            lines = data[pos:end].decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                raise _BadRequest(400, "bad request line")
            method, target, version = parts
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep or not name or name != name.strip():
                    raise _BadRequest(400, "bad header line")
                headers[name.lower()] = value.strip()
            if "transfer-encoding" in headers:
                raise _BadRequest(501, "chunked bodies are not supported")
            raw_length = headers.get("content-length", "0")
            if not (raw_length.isascii() and raw_length.isdigit()):
                raise _BadRequest(400, "bad content-length")
            length = int(raw_length)
            if length > _MAX_BODY:
                raise _BadRequest(413, "body too large")
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
            self.sim._handle(self, method, target, headers, body, keep_alive)
        return b"" if self.closing else data[pos:]

    def _fatal(self, status: int, detail: str) -> None:
        self.closing = True
        self.answer(self.slot(), _detail(status, detail, close=True), None, 0.0)

    def slot(self) -> _Slot:
        slot = _Slot()
        self.queue.append(slot)
        return slot

    def answer(self, slot: _Slot, data: bytes, accept_id: int | None, delay: float) -> None:
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
        sim = self.sim
        while queue and queue[0].data is not None:
            slot = queue.popleft()
            assert slot.data is not None
            out.append(slot.data)
            if slot.accept_id is not None:
                sim._record_accept(slot.accept_id)
        if out:
            transport.write(b"".join(out))
        if self.closing and not queue:
            transport.close()


class _BadRequest(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class GatewaySimulator:
    """The simulated gateway: an HTTP/1.1 server on ``host:port`` (0 = a free port).

    Counters (cleared by :meth:`reset`):

    Attributes:
        config: Behaviour, mutable at runtime; takes effect on the next request.
        requests: Requests received on ``/send`` (whatever their answer).
        accepted: msgId -> times answered 200 ``{"code": 0}``; counted when the
            answer is written, so a delayed answer dropped by a closed connection
            or an outage is not counted.
        first_accept_at: ``time.monotonic()`` of the first accepted answer.
        last_accept_at: ``time.monotonic()`` of the last accepted answer.
        bodies: The last 1000 decoded ``/send`` bodies, oldest first.
        last_headers: Headers (lower-case names) of the last ``/send`` request.
        connections_opened: Client connections accepted (to check keep-alive and pool sizes).
    """

    def __init__(
        self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config if config is not None else SimulatorConfig()
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._outage_task: asyncio.Task[None] | None = None
        self._rng = random.Random(self.config.seed)
        self.requests = 0
        self.accepted: collections.Counter[int] = collections.Counter()
        self.first_accept_at: float | None = None
        self.last_accept_at: float | None = None
        self.bodies: collections.deque[dict[str, Any]] = collections.deque(maxlen=_KEEP_BODIES)
        self.last_headers: dict[str, str] | None = None
        self.connections_opened = 0

    def __repr__(self) -> str:
        return f"GatewaySimulator({self.base_url!r}, {self.config!r})"

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Bind and start listening; port 0 picks a free port (see :attr:`port`).

        Raises:
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            return
        await self._listen()

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self._port, reuse_address=True, backlog=1024
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close the server and every connection; pending delayed answers are dropped."""
        if self._outage_task is not None:
            self._outage_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._outage_task
            self._outage_task = None
        await self._close_server()

    async def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for conn in list(self._connections):
            if conn.transport is not None:
                conn.transport.abort()
            # abort() reports connection_lost on the next loop turn; dropping the
            # timers now makes sure nothing is answered in between.
            conn.connection_lost(None)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        await asyncio.sleep(0)

    async def __aenter__(self) -> GatewaySimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port (the requested one before :meth:`start`)."""
        return self._port

    @property
    def base_url(self) -> str:
        """The gateway base URL to give a client, e.g. ``http://127.0.0.1:43123/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}{self.config.prefix.rstrip('/')}"

    @property
    def listening(self) -> bool:
        """Whether the server accepts connections (false before start and during an outage)."""
        return self._server is not None

    async def outage(self, seconds: float | None) -> None:
        """Stop listening and drop every open connection, so new connects are refused.

        Args:
            seconds: Come back on the same port after this long (in the background);
                ``None`` stays down until :meth:`end_outage`.
        """
        if self._outage_task is not None:
            self._outage_task.cancel()
            self._outage_task = None
        await self._close_server()
        if seconds is not None:
            self._outage_task = asyncio.create_task(self._come_back(seconds))

    async def _come_back(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._outage_task = None
        await self._listen()

    async def end_outage(self) -> None:
        """Listen again on the same port (a no-op if not in an outage)."""
        if self._outage_task is not None:
            self._outage_task.cancel()
            self._outage_task = None
        if self._server is None:
            await self._listen()

    # -- counters ------------------------------------------------------------

    @property
    def duplicates(self) -> dict[int, int]:
        """msgId -> times accepted, for the ids accepted more than once."""
        return {msg_id: n for msg_id, n in self.accepted.items() if n > 1}

    @property
    def accepted_total(self) -> int:
        """Answers 200 ``{"code": 0}`` written, duplicates included."""
        return self.accepted.total()

    def reset(self) -> None:
        """Clear the counters and restart the fault draws from ``config.seed``."""
        self.requests = 0
        self.accepted.clear()
        self.first_accept_at = None
        self.last_accept_at = None
        self.bodies.clear()
        self.last_headers = None
        self.connections_opened = 0
        self._rng = random.Random(self.config.seed)

    @property
    def open_connections(self) -> int:
        """Client connections open right now."""
        return len(self._connections)

    def stats(self) -> dict[str, Any]:
        """The counters as the ``GET /stats`` endpoint returns them."""
        first, last = self.first_accept_at, self.last_accept_at
        return {
            "requests": self.requests,
            "accepted_total": self.accepted_total,
            "unique_accepted": len(self.accepted),
            "duplicates": len(self.duplicates),
            "first_accept_at": first,
            "last_accept_at": last,
            "window_s": (last - first) if first is not None and last is not None else 0.0,
            "connections_opened": self.connections_opened,
            "open_connections": self.open_connections,
        }

    def _record_accept(self, msg_id: int) -> None:
        now = time.monotonic()
        self.accepted[msg_id] += 1
        if self.first_accept_at is None:
            self.first_accept_at = now
        self.last_accept_at = now

    # -- request handling ----------------------------------------------------

    def _handle(
        self,
        conn: _Connection,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        keep_alive: bool,
    ) -> None:
        close = not keep_alive
        path = target.partition("?")[0]
        send_prefix = self.config.prefix.rstrip("/") + "/send/"
        if path.startswith(send_prefix):
            self.requests += 1
            self.last_headers = headers
            data, accept_id, delay = self._send(method, path[len(send_prefix) :], headers, body)
            if close and accept_id is not None:
                data = _OK_CLOSE
            elif close:
                data = data.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
            conn.answer(conn.slot(), data, accept_id, delay)
            return
        conn.answer(conn.slot(), self._control(method, path, body, close), None, 0.0)

    def _send(
        self, method: str, raw_id: str, headers: dict[str, str], body: bytes
    ) -> tuple[bytes, int | None, float]:
        """The answer to one ``/send`` request: (bytes, msgId if accepted, delay in s)."""
        cfg = self.config
        rng = self._rng
        delay = cfg.latency_ms
        if cfg.jitter_ms:
            delay += rng.uniform(-cfg.jitter_ms, cfg.jitter_ms)
        delay = max(delay, 0.0) / 1000
        if method != "POST":
            return _detail(405, "method not allowed"), None, delay
        if cfg.token is not None and headers.get("authorization") != f"Bearer {cfg.token}":
            return _detail(401, "invalid token"), None, delay
        problem, msg_id, data = _validate(raw_id, body)
        if data is not None:
            self.bodies.append(data)
        if problem is not None:
            return _detail(422, problem), None, delay
        assert msg_id is not None
        draw = rng.random()
        edge = cfg.fail_rate
        if draw < edge:
            return _detail(500, "internal error"), None, delay
        edge += cfg.throttle_rate
        if draw < edge:
            retry = cfg.retry_after_s
            text = str(int(retry)) if retry == int(retry) else f"{retry:g}"
            answer = _response(
                429, b'{"detail":"too many requests"}', extra=(f"Retry-After: {text}",)
            )
            return answer, None, delay
        edge += cfg.garbage_rate
        if draw < edge:
            return _response(200, b"<html>502 bad gateway</html>"), None, delay
        edge += cfg.nonzero_code_rate
        if draw < edge:
            return _response(200, b'{"code":1,"message":"rejected"}'), None, delay
        edge += cfg.permanent_rate
        if draw < edge:
            return _detail(400, "bad phone"), None, delay
        edge += cfg.slow_rate
        if draw < edge:
            delay = cfg.slow_ms / 1000
        return _OK, msg_id, delay

    def _control(self, method: str, path: str, body: bytes, close: bool) -> bytes:
        """The ``/stats``, ``/reset`` and ``/config`` endpoints; 404 for anything else."""
        if path == "/stats" and method == "GET":
            return _response(200, json.dumps(self.stats()).encode(), close=close)
        if path == "/reset" and method == "POST":
            self.reset()
            return _response(200, b'{"reset":true}', close=close)
        if path == "/config" and method == "POST":
            try:
                changes = json.loads(body)
                new = _config_update(self.config, changes)
            except (ValueError, TypeError) as err:
                return _detail(422, str(err), close=close)
            self.config = new
            if "seed" in changes:
                self._rng = random.Random(new.seed)
            shown = dataclasses.asdict(new)
            shown["token"] = new.token is not None  # never echo a secret
            return _response(200, json.dumps(shown).encode(), close=close)
        if path in ("/stats", "/reset", "/config"):
            return _detail(405, "method not allowed", close=close)
        return _detail(404, "not found", close=close)


def _validate(raw_id: str, body: bytes) -> tuple[str | None, int | None, dict[str, Any] | None]:
    """(problem, msgId, decoded body): the 422 detail of a bad ``/send`` request or ``None``."""
    data: Any = None
    try:
        # str in: json.loads(bytes) first sniffs the encoding, a measurable cost here.
        data = _DECODE(body.decode())
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return "body is not JSON", None, None
    if not isinstance(data, dict):
        return "body is not a JSON object", None, None
    if not (raw_id.isascii() and raw_id.isdigit()):
        return "msgId in the path must be an integer", None, data
    msg_id = int(raw_id)
    body_id = data.get("id")
    if type(body_id) is not int or body_id != msg_id:
        return "body id must be the integer msgId of the path", None, data
    phone = data.get("phone")
    # A phone sent as a string is the classic sender bug this check exists for.
    if type(phone) is not int or not _PHONE_MIN <= phone <= _PHONE_MAX:
        return "phone must be an integer of 11 digits starting with 7", None, data
    if not isinstance(data.get("text"), str):
        return "text must be a string", None, data
    return None, msg_id, data


# -- running it off the caller's loop -----------------------------------------


class ThreadedSimulator:
    """A :class:`GatewaySimulator` on its own event loop in a daemon thread.

    Keeps the simulator's work off the loop under test (a benchmark, or a
    synchronous test). Read counters through :meth:`stats`, or :meth:`call` a
    coroutine function on the simulator's loop, e.g. ``call(sim.outage, 1.0)``.
    """

    def __init__(
        self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.simulator = GatewaySimulator(config, host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="gateway-sim", daemon=True
        )
        self._stopped = False

    def start(self) -> ThreadedSimulator:
        """Start the thread and wait until the simulator listens."""
        self._thread.start()
        try:
            self.call(self.simulator.start)
        except BaseException:
            self._shutdown_loop()
            raise
        return self

    @property
    def base_url(self) -> str:
        """The simulator's base URL."""
        return self.simulator.base_url

    def call(
        self, coro_fn: Callable[..., Awaitable[T]], *args: Any, timeout: float | None = 30.0
    ) -> T:
        """Run ``coro_fn(*args)`` on the simulator's loop and wait for its result.

        Blocks the calling thread; from a coroutine prefer :meth:`acall`.
        """

        async def run() -> T:
            return await coro_fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    async def acall(self, coro_fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """:meth:`call` without blocking the calling event loop."""

        async def run() -> T:
            return await coro_fn(*args)

        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return await asyncio.wrap_future(future)

    def stats(self) -> dict[str, Any]:
        """The counters, read on the simulator's own thread."""

        async def read() -> dict[str, Any]:
            return self.simulator.stats()

        return self.call(read)

    def stop(self) -> None:
        """Stop the simulator and its thread (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self._thread.is_alive():
                self.call(self.simulator.stop, timeout=10.0)
        finally:
            self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        self._stopped = True
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10.0)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> ThreadedSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_in_thread(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> ThreadedSimulator:
    """A started :class:`ThreadedSimulator`; stop it with ``.stop()`` or a ``with`` block."""
    return ThreadedSimulator(config, host, port).start()


# -- command line ------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gateway-sim",
        description="Run the gateway simulator (an HTTP server speaking GATEWAY.md) "
        "until SIGINT or SIGTERM.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 = a free one (default)")
    knobs = (
        ("--latency-ms", "latency_ms", "delay before each answer"),
        ("--jitter-ms", "jitter_ms", "uniform +- jitter on the latency"),
        ("--fail-rate", "fail_rate", "share answered HTTP 500"),
        ("--garbage-rate", "garbage_rate", "share answered 200 with a non-JSON body"),
        ("--nonzero-code-rate", "nonzero_code_rate", 'share answered 200 {"code": 1}'),
        ("--throttle-rate", "throttle_rate", "share answered 429 with Retry-After"),
        ("--retry-after", "retry_after_s", "Retry-After seconds of the 429 answers"),
        ("--slow-rate", "slow_rate", "share answered only after --slow-ms"),
        ("--slow-ms", "slow_ms", "delay of the slow answers"),
        ("--permanent-rate", "permanent_rate", "share answered 400 bad phone"),
    )
    defaults = SimulatorConfig()
    for flag, dest, text in knobs:
        default = getattr(defaults, dest)
        p.add_argument(
            flag, dest=dest, type=float, default=default, help=f"{text} (default {default:g})"
        )
    p.add_argument("--token", default=None, help="bearer token to require (401 otherwise)")
    p.add_argument("--seed", type=int, default=None, help="seed of the fault draws")
    return p


async def _serve(config: SimulatorConfig, host: str, port: int) -> int:
    sim = GatewaySimulator(config, host, port)
    try:
        await sim.start()
    except OSError as err:
        print(f"gateway-sim: cannot listen on {host}:{port}: {err.strerror}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(f"gateway-sim listening on {sim.base_url}", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()
    return 0


def run_cli(argv: list[str] | None = None) -> int:
    """``gateway-sim``: run the simulator until SIGINT/SIGTERM.

    Prints exactly one line, ``gateway-sim listening on http://HOST:PORT/v1``, once
    bound (callers parse it to learn the port). The token is never printed.

    Returns:
        0 after a signal, 1 if the address cannot be bound.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    knobs = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(SimulatorConfig)
        if f.name != "prefix"
    }
    try:
        config = SimulatorConfig(**knobs)
    except ValueError as err:
        parser.error(str(err))
    try:
        return asyncio.run(_serve(config, args.host, args.port))
    except KeyboardInterrupt:  # where signal handlers are unavailable
        return 0


if __name__ == "__main__":
    raise SystemExit(run_cli())
