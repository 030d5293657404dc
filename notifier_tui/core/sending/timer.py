"""The sender's sense of elapsed time: a monotonic clock it can also sleep on.

Every wait the sender makes (the dispatch loop's nap, the flush interval, the
lease heartbeat, a stop's grace) goes through a :class:`Timer`, so tests swap
in a fake one (``tests/fakeclock.py``) and run the sender on fake time. Wall
time (what is written to the store) is a separate clock, ``store.clock``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Timer(Protocol):
    """A monotonic clock with the two waits the sender needs."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock."""
        ...

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        """Wait until ``event`` is set or ``timeout`` passed; True when it was set."""
        ...


class SystemTimer:
    """The real thing: ``time.monotonic`` and the event loop's own timers."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        try:
            async with asyncio.timeout(max(0.0, timeout)):
                await event.wait()
        except TimeoutError:
            return False
        return True


SYSTEM_TIMER: Timer = SystemTimer()
