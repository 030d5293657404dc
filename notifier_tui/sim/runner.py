"""Running the simulator off the caller's loop: on its own event loop in a daemon thread.

The demo and the tests use it in-process, so the simulator's work never takes
time from the loop under test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from notifier_tui.sim.config import SimulatorConfig
from notifier_tui.sim.server import Clock, GatewaySimulator

T = TypeVar("T")


class ThreadedSimulator:
    """A :class:`GatewaySimulator` on its own event loop in a daemon thread.

    Keeps the simulator's work off the loop under test (a benchmark, or a
    synchronous test). Read counters through :meth:`stats`, or :meth:`call` a
    coroutine function on the simulator's loop, e.g. ``call(sim.outage, 1.0)``.
    ``clock`` and ``wall`` are the simulator's (see :class:`GatewaySimulator`).
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
    ) -> None:
        self.simulator = GatewaySimulator(config, host, port, clock=clock, wall=wall)
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
