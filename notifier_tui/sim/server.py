"""The simulated gateway: an asyncio HTTP/1.1 server answering like docs/gateway.md says.

It answers ``POST {prefix}/send/{msgId}`` like the public gateway, with faults
injected at configurable rates (see :mod:`notifier_tui.sim.faults`), an outage
switch that refuses connections, and counters that let a test or a benchmark
check what the gateway really accepted (duplicates included).

Extra endpoints, without auth, so another process can drive it:

- ``GET /stats``: counters as JSON (``window_s`` = last accept - first accept);
- ``POST /reset``: clear the counters;
- ``POST /config``: a JSON object of :class:`SimulatorConfig` fields to change.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import time
from typing import Any

from notifier_tui.sim.config import SimulatorConfig, config_update, shown
from notifier_tui.sim.contract import validate
from notifier_tui.sim.faults import Answer, draw_answer, seconds_text
from notifier_tui.sim.protocol import Connection, detail, response, with_close

_KEEP_BODIES = 1000
_OK = response(200, b'{"code":0,"message":"OK"}')
_OK_CLOSE = with_close(_OK)
_FAIL = detail(500, "internal error")
_GARBAGE = response(200, b"<html>502 bad gateway</html>")
_NONZERO_CODE = response(200, b'{"code":1,"message":"rejected"}')
_PERMANENT = detail(400, "bad phone")
_UNAUTHORIZED = detail(401, "invalid token")
_METHOD = detail(405, "method not allowed")
_FIXED = {
    Answer.FAIL: _FAIL,
    Answer.GARBAGE: _GARBAGE,
    Answer.NONZERO_CODE: _NONZERO_CODE,
    Answer.PERMANENT: _PERMANENT,
}


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
        self._connections: set[Connection] = set()
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
            lambda: Connection(self), self.host, self._port, reuse_address=True, backlog=1024
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
            conn.drop()
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

    # -- the connections' handler (protocol.Handler) --------------------------

    def connection_opened(self, conn: Connection) -> bool:
        self._connections.add(conn)
        self.connections_opened += 1
        return True

    def connection_closed(self, conn: Connection) -> None:
        self._connections.discard(conn)

    def record_accept(self, msg_id: int) -> None:
        now = time.monotonic()
        self.accepted[msg_id] += 1
        if self.first_accept_at is None:
            self.first_accept_at = now
        self.last_accept_at = now

    def handle(
        self,
        conn: Connection,
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
            if close:
                data = _OK_CLOSE if data is _OK else with_close(data)
            conn.answer(conn.slot(), data, accept_id, delay)
            return
        conn.answer(conn.slot(), self._control(method, path, body, close), None, 0.0)

    # -- request handling ----------------------------------------------------

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
            return _METHOD, None, delay
        if cfg.token is not None and headers.get("authorization") != f"Bearer {cfg.token}":
            return _UNAUTHORIZED, None, delay
        problem, msg_id, data = validate(raw_id, body)
        if data is not None:
            self.bodies.append(data)
        if problem is not None:
            return detail(422, problem), None, delay
        assert msg_id is not None
        answer = draw_answer(cfg, rng.random())
        if answer is Answer.OK:
            return _OK, msg_id, delay
        if answer is Answer.SLOW:
            return _OK, msg_id, cfg.slow_ms / 1000
        if answer is Answer.THROTTLE:
            retry = f"Retry-After: {seconds_text(cfg.retry_after_s)}"
            return response(429, b'{"detail":"too many requests"}', extra=(retry,)), None, delay
        return _FIXED[answer], None, delay

    def _control(self, method: str, path: str, body: bytes, close: bool) -> bytes:
        """The ``/stats``, ``/reset`` and ``/config`` endpoints; 404 for anything else."""
        if path == "/stats" and method == "GET":
            return response(200, json.dumps(self.stats()).encode(), close=close)
        if path == "/reset" and method == "POST":
            self.reset()
            return response(200, b'{"reset":true}', close=close)
        if path == "/config" and method == "POST":
            try:
                changes = json.loads(body)
                new = config_update(self.config, changes)
            except (ValueError, TypeError) as err:
                return detail(422, str(err), close=close)
            self.config = new
            if "seed" in changes:
                self._rng = random.Random(new.seed)
            return response(200, json.dumps(shown(new)).encode(), close=close)
        if path in ("/stats", "/reset", "/config"):
            return detail(405, "method not allowed", close=close)
        return detail(404, "not found", close=close)
