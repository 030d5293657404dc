"""A clock that only moves when a test moves it, shared by the core and UI tests.

One :class:`FakeClock` is both clocks the core takes: called, it is the wall
clock (like ``datetime.now(UTC)``, for ``Store(clock=...)``); as a
:class:`notifier_tui.core.sending.timer.Timer` (``monotonic``, ``sleep``,
``wait``) it is the sender's monotonic time. :meth:`FakeClock.advance` moves
both together and wakes every sleeper whose time has come.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta


class FakeClock:
    """Callable like ``datetime.now(UTC)``; stands still at ``now`` until moved."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._mono = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def __call__(self) -> datetime:
        return self.now

    # --- moving it -------------------------------------------------------------

    def advance(self, **delta: float) -> datetime:
        """Move both clocks forward by ``timedelta(**delta)``; wake who is due."""
        step = timedelta(**delta)
        self.now += step
        self._mono += step.total_seconds()
        self._wake_due()
        return self.now

    def set(self, when: datetime) -> datetime:
        """Jump the wall clock to ``when``; a jump forward moves the monotonic one too."""
        ahead = (when - self.now).total_seconds()
        self.now = when
        if ahead > 0:
            self._mono += ahead
            self._wake_due()
        return self.now

    def _wake_due(self) -> None:
        for entry in list(self._sleepers):
            deadline, _, future = entry
            if deadline <= self._mono + 1e-9:
                self._sleepers.remove(entry)
                if not future.done():
                    future.set_result(None)

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting for this clock."""
        return len(self._sleepers)

    # --- the Timer protocol ------------------------------------------------------

    def monotonic(self) -> float:
        return self._mono

    def _sleeper(self, seconds: float) -> tuple[float, int, asyncio.Future[None]]:
        """Register a wake-up ``seconds`` from now, at once (not when a task first runs)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._mono + seconds, next(self._ids), future)
        self._sleepers.append(entry)
        return entry

    def _forget(self, entry: tuple[float, int, asyncio.Future[None]]) -> None:
        if entry in self._sleepers:
            self._sleepers.remove(entry)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        entry = self._sleeper(seconds)
        try:
            await entry[2]
        finally:
            self._forget(entry)

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        if timeout <= 0:
            await asyncio.sleep(0)
            return event.is_set()
        entry = self._sleeper(timeout)
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({entry[2], waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._forget(entry)
            entry[2].cancel()
            waiter.cancel()
        return event.is_set()


async def tick(
    clock: FakeClock,
    seconds: float,
    *,
    step: float = 0.05,
    pause: float = 0.005,
    until: Callable[[], bool] | None = None,
) -> bool:
    """Move ``clock`` forward ``seconds`` in steps, letting real work run between them.

    Args:
        clock: The clock to move.
        seconds: How far, at most.
        step: Fake seconds per step.
        pause: Real seconds between steps, for threads and sockets to catch up.
        until: Stop early once this holds.

    Returns:
        Whether ``until`` held at the end (True when none was given).
    """
    steps = max(1, round(seconds / step))
    for _ in range(steps):
        if until is not None and until():
            return True
        clock.advance(seconds=step)
        await asyncio.sleep(pause)
    return until() if until is not None else True
