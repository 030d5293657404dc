"""The simulated gateway: an asyncio HTTP/1.1 server answering like docs/gateway.md says.

It answers ``POST {prefix}/send/{msgId}`` like the public gateway, with faults
injected at configurable rates and in time windows (see
:mod:`notifier_tui.sim.faults`), an outage switch that refuses connections, and
counters that let a test or a benchmark check what the gateway really accepted
(duplicates included).

Its ``/stats``, ``/reset`` and ``/config`` endpoints are in :mod:`notifier_tui.sim.control`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

from notifier_tui.sim.answers import FIXED, OK, OK_CLOSE, huge, throttled
from notifier_tui.sim.config import SimulatorConfig
from notifier_tui.sim.contract import validate
from notifier_tui.sim.control import control, stats
from notifier_tui.sim.faults import Answer, draw_answer, refuses, retry_after, window_at
from notifier_tui.sim.protocol import Connection, detail, with_close

Clock = Callable[[], float]

_KEEP_BODIES = 1000


class GatewaySimulator:
    """The simulated gateway: an HTTP/1.1 server on ``host:port`` (0 = a free port).

    Args:
        config: Behaviour; the defaults answer every good request 200.
        host: Address to bind.
        port: Port to bind; 0 picks a free one.
        clock: Monotonic seconds; the time windows of ``config`` count from the
            first :meth:`start` on it. Tests pass a fake one and call
            :meth:`apply_schedule` after moving it.
        wall: Epoch seconds, for ``Retry-After`` HTTP dates.
        schedule_every: How often to open or close the listener as the outage and
            flapping windows say; ``None`` leaves it to :meth:`apply_schedule`
            calls (a test on a fake clock, to be deterministic).

    Counters (cleared by :meth:`reset`):

    Attributes:
        config: Behaviour, mutable at runtime; takes effect on the next request.
        requests: Requests received on ``/send`` (whatever their answer).
        accepted: msgId -> times answered 200 ``{"code": 0}``; counted when the
            answer is written, so a delayed answer dropped by a closed connection
            or an outage is not counted.
        by_fault: :class:`~notifier_tui.sim.faults.Answer` -> ``/send`` requests
            given that answer, counted when it is decided (a snapshot).
        refused_connections: Connections reset on arrival in a refusing window.
        first_accept_at: ``clock()`` of the first accepted answer.
        last_accept_at: ``clock()`` of the last accepted answer.
        bodies: The last 1000 decoded ``/send`` bodies, oldest first.
        last_headers: Headers (lower-case names) of the last ``/send`` request.
        connections_opened: Client connections accepted (to check keep-alive and pool sizes).
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        schedule_every: float | None = 0.05,
    ) -> None:
        self.config = config if config is not None else SimulatorConfig()
        self.host = host
        self._port = port
        self._clock = clock
        self._wall = wall
        self._schedule_every = schedule_every
        self._started_at: float | None = None
        self._running = False
        self._manual_down = False
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._outage_task: asyncio.Task[None] | None = None
        self._schedule_task: asyncio.Task[None] | None = None
        self._listener_lock = asyncio.Lock()
        self._rng = random.Random(self.config.seed)
        self._throttled = 0  # 429 answers so far, to take turns among odd Retry-After values
        self.requests = 0
        self.accepted: collections.Counter[int] = collections.Counter()
        # A plain dict with every key present: the per-request increment is then
        # the interpreter's fast path (a Counter's was most of the split's added cost).
        self._by_fault: dict[Answer, int] = dict.fromkeys(Answer, 0)
        self.refused_connections = 0
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
        if self._running:
            return
        await self._listen()  # even in a refusing window: it learns the port
        self._running = True
        if self._started_at is None:
            self._started_at = self._clock()
        if self._schedule_every is not None:
            self._schedule_task = asyncio.create_task(self._follow_schedule(self._schedule_every))
        await self.apply_schedule()

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Connection(self), self.host, self._port, reuse_address=True, backlog=1024
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close the server and every connection; pending delayed answers are dropped."""
        self._running = False
        for task in (self._outage_task, self._schedule_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._outage_task = self._schedule_task = None
        async with self._listener_lock:
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

    @property
    def elapsed(self) -> float:
        """Seconds on the clock since the first :meth:`start` (0 before it)."""
        return 0.0 if self._started_at is None else self._clock() - self._started_at

    # -- outages: by hand, or by the config's time windows ----------------------

    async def outage(self, seconds: float | None) -> None:
        """Stop listening and drop every open connection, so new connects are refused.

        Args:
            seconds: Come back on the same port after this long (in the background);
                ``None`` stays down until :meth:`end_outage`.
        """
        if self._outage_task is not None:
            self._outage_task.cancel()
            self._outage_task = None
        self._manual_down = True
        await self.apply_schedule()
        if seconds is not None:
            self._outage_task = asyncio.create_task(self._come_back(seconds))

    async def _come_back(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._outage_task = None
        self._manual_down = False
        await self.apply_schedule()

    async def end_outage(self) -> None:
        """End an outage begun by :meth:`outage` (a no-op if not in one).

        The listener comes back on the same port unless a refusing time window
        of the config is in force.
        """
        if self._outage_task is not None:
            self._outage_task.cancel()
            self._outage_task = None
        self._manual_down = False
        await self.apply_schedule()

    async def apply_schedule(self) -> None:
        """Open or close the listener as :meth:`outage` and the config's windows say now.

        The server does this by itself every ``schedule_every`` seconds; a
        connection that slips in between is reset on arrival.
        """
        async with self._listener_lock:
            down = self._manual_down or self._refusing()
            if down and self._server is not None:
                await self._close_server()
            elif not down and self._server is None and self._running:
                await self._listen()

    def _refusing(self) -> bool:
        cfg = self.config
        return bool(cfg.outage_s or cfg.flap_down_s) and refuses(cfg, window_at(cfg, self.elapsed))

    async def _follow_schedule(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            # The port taken by someone else meanwhile: try again on the next tick.
            with contextlib.suppress(OSError):
                await self.apply_schedule()

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
        """Clear the counters and restart the fault draws from ``config.seed``.

        The time windows still count from the start: a reset does not move them.
        """
        self.requests = 0
        self.accepted.clear()
        self._by_fault = dict.fromkeys(Answer, 0)
        self.refused_connections = 0
        self.first_accept_at = None
        self.last_accept_at = None
        self.bodies.clear()
        self.last_headers = None
        self.connections_opened = 0
        self._throttled = 0
        self.reseed()

    def reseed(self) -> None:
        """Restart the fault draws from ``config.seed`` (the counters stay)."""
        self._rng = random.Random(self.config.seed)

    @property
    def by_fault(self) -> collections.Counter[Answer]:
        """Answer -> ``/send`` requests given it, for the answers given at all."""
        return collections.Counter({answer: n for answer, n in self._by_fault.items() if n})

    @property
    def open_connections(self) -> int:
        """Client connections open right now."""
        return len(self._connections)

    def stats(self) -> dict[str, Any]:
        """The counters as the ``GET /stats`` endpoint returns them."""
        return stats(self)

    # -- the connections' handler (protocol.Handler) --------------------------

    def connection_opened(self, conn: Connection) -> bool:
        if self._refusing():
            # Arrived before the schedule closed the listener: refused all the same.
            self.refused_connections += 1
            return False
        self._connections.add(conn)
        self.connections_opened += 1
        return True

    def connection_closed(self, conn: Connection) -> None:
        self._connections.discard(conn)

    def record_accept(self, msg_id: int) -> None:
        now = self._clock()
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
            if data is None:
                conn.drop()  # a refusing window: the gateway is gone mid-connection
                return
            if close:
                data = OK_CLOSE if data is OK else with_close(data)
            conn.answer(conn.slot(), data, accept_id, delay)
            return
        conn.answer(conn.slot(), control(self, method, path, body, close), None, 0.0)

    # -- request handling ----------------------------------------------------

    def _send(
        self, method: str, raw_id: str, headers: dict[str, str], body: bytes
    ) -> tuple[bytes | None, int | None, float]:
        """The answer to one ``/send`` request: (bytes, msgId if accepted, delay in s).

        ``None`` bytes: reset the connection without an answer.
        """
        cfg = self.config
        by_fault = self._by_fault
        if cfg.storm_s or cfg.outage_s or cfg.flap_down_s:
            window = window_at(cfg, self.elapsed)
            if window is not None:
                # Answered before anything is drawn, so the seeded sequence goes on unchanged.
                by_fault[window] += 1
                if refuses(cfg, window):
                    return None, None, 0.0
                if window is Answer.STORM:
                    return self._throttle(cfg.storm_retry_after_s), None, cfg.latency_ms / 1000
                return FIXED[window], None, cfg.latency_ms / 1000
        rng = self._rng
        delay = cfg.latency_ms
        if cfg.jitter_ms:
            delay += rng.uniform(-cfg.jitter_ms, cfg.jitter_ms)
        delay = max(delay, 0.0) / 1000
        if method != "POST":
            by_fault[Answer.METHOD] += 1
            return FIXED[Answer.METHOD], None, delay
        if cfg.token is not None and headers.get("authorization") != f"Bearer {cfg.token}":
            by_fault[Answer.UNAUTHORIZED] += 1
            return FIXED[Answer.UNAUTHORIZED], None, delay
        problem, msg_id, data = validate(raw_id, body)
        if data is not None:
            self.bodies.append(data)
        if problem is not None:
            by_fault[Answer.INVALID] += 1
            return detail(422, problem), None, delay
        assert msg_id is not None
        answer = draw_answer(cfg, rng.random())
        by_fault[answer] += 1
        if answer is Answer.OK:
            return OK, msg_id, delay
        if answer is Answer.SLOW:
            return OK, msg_id, cfg.slow_ms / 1000
        if answer is Answer.HUGE:
            return huge(cfg.huge_mb), msg_id, delay
        if answer is Answer.THROTTLE:
            return self._throttle(cfg.retry_after_s), None, delay
        return FIXED[answer], None, delay

    def _throttle(self, seconds: float) -> bytes:
        """A 429 answer whose ``Retry-After`` says ``seconds`` in the configured style."""
        value = retry_after(self.config.retry_after_style, seconds, self._throttled, self._wall())
        self._throttled += 1
        return throttled(value)
