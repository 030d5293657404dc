"""Global back-pressure: a gateway's ``Retry-After`` slows the whole sender (issue 9.16).

A 429 or 503 answer with ``Retry-After`` is the gateway saying how long it
wants to be left alone; docs/domain.md rule 5 makes that hold for the whole
sender, not only for the message that got the answer. So:

- from the moment such an answer is observed, no new request starts before
  the time it asked for (``observe``); a later answer may extend the pause,
  never shorten it; huge values are clamped to ``max_pause``;
- when the pause ends, requests in flight ramp back up: ``ramp_start`` at
  first, multiplied by ``ramp_factor`` every ``ramp_step`` seconds, until the
  sender's own concurrency (``ceiling``), continuously: the limit is
  ``floor(ramp_start * ramp_factor ** (t / ramp_step))`` ``t`` seconds after
  the pause. A gateway still throttling answers
  the first of them with another 429, which starts a new pause; one that has
  recovered is back at full speed ``ramp_step * log2(ceiling / ramp_start)``
  seconds later (2.5 s for 32 in flight with the defaults).

The limit is a pure function of the clock and the last pause, so queries
change nothing; the only state changes are ``observe``/``throttle`` (explicit)
and the in-flight count (``acquire``/``release``).

API::

    pressure = BackPressure(ceiling=32, clock=time.monotonic, sleep=asyncio.sleep)
    await pressure.acquire()        # wait until a request may start, then count it in flight
    try:
        result = ...send...
    finally:
        pressure.release()          # it finished, whatever the outcome
    pressure.observe(result.status_code, result.retry_after)   # True: a pause began/grew

    pressure.limit()                # requests that may be in flight now (0 while paused)
    pressure.paused_until           # monotonic end of the pause, or None
    pressure.wait_time()            # seconds before one more may start; 0 = now, None = on release
    pressure.in_flight
    pressure.set_ceiling(n)         # the concurrency setting changed

Order in a worker: ``acquire`` first, then the rate limit and the breaker's
``allow``, so a paused sender holds no breaker probe. An answer that carried
``Retry-After`` is back-pressure, not a sign the gateway is down: hand its
breaker permit back with ``breaker.release(permit)`` rather than ``failure``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["THROTTLE_STATUSES", "BackPressure", "PressureConfig"]

THROTTLE_STATUSES = frozenset({429, 503})
"""HTTP statuses whose ``Retry-After`` pauses the whole sender."""


@dataclass(frozen=True)
class PressureConfig:
    """How the sender yields to a gateway that asked it to wait; each field could be a setting."""

    max_pause: float = 60.0
    """Longest pause one ``Retry-After`` may impose, in seconds (larger values are clamped)."""
    ramp_start: int = 1
    """Requests allowed in flight when a pause ends."""
    ramp_factor: float = 2.0
    """What the allowed requests in flight are multiplied by every ``ramp_step``."""
    ramp_step: float = 0.5
    """Seconds per step of the ramp back to full concurrency."""

    def __post_init__(self) -> None:
        if self.max_pause < 0 or self.ramp_start < 1:
            raise ValueError("max_pause must be >= 0 and ramp_start >= 1")
        if self.ramp_factor <= 1 or self.ramp_step <= 0:
            raise ValueError("ramp_factor must be > 1 and ramp_step > 0")


class BackPressure:
    """A concurrency gate that closes for a gateway's ``Retry-After`` and then ramps open."""

    def __init__(
        self,
        ceiling: int,
        config: PressureConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_pause: Callable[[float, float], None] | None = None,
    ) -> None:
        """Make an open gate.

        Args:
            ceiling: Most requests in flight (the sender's concurrency).
            config: Pause clamp and ramp shape.
            clock: Monotonic seconds; tests pass a fake one.
            sleep: How to wait; tests pass one driven by their fake clock.
            on_pause: Called with (pause end, seconds asked) when a pause begins or grows.
        """
        self.config = config if config is not None else PressureConfig()
        self._ceiling = max(1, ceiling)
        self._clock = clock
        self._sleep = sleep
        self._on_pause = on_pause
        self._until = -math.inf
        self._in_flight = 0
        self._waiters: list[asyncio.Future[None]] = []

    # --- queries (never change anything) ---------------------------------------

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def ceiling(self) -> int:
        return self._ceiling

    @property
    def paused_until(self) -> float | None:
        """Monotonic time the current pause ends, or None when not paused."""
        return self._until if self._clock() < self._until else None

    def limit(self) -> int:
        """Requests that may be in flight now: 0 while paused, then the ramp, then the ceiling."""
        return self._limit_at(self._clock())

    def wait_time(self) -> float | None:
        """Seconds before one more request may start: 0 = now, None = when one finishes."""
        now = self._clock()
        if now < self._until:
            return self._until - now
        if self._in_flight < self._limit_at(now):
            return 0.0
        if self._in_flight + 1 > self._ceiling:
            return None
        cfg = self.config
        # The ramp's limit reaches in_flight + 1 this long after the pause ended.
        steps = math.log((self._in_flight + 1) / cfg.ramp_start, cfg.ramp_factor)
        return max(1e-6, self._until + steps * cfg.ramp_step - now)

    def _limit_at(self, now: float) -> int:
        if now < self._until:
            return 0
        cfg = self.config
        steps = (now - self._until) / cfg.ramp_step
        if steps >= math.log(self._ceiling / cfg.ramp_start, cfg.ramp_factor):
            return self._ceiling
        # The epsilon keeps 2.0 ** 1.0 * 1 from flooring to 1 by rounding.
        level: float = cfg.ramp_start * math.pow(cfg.ramp_factor, steps)
        return min(self._ceiling, math.floor(level + 1e-9))

    # --- changes -----------------------------------------------------------------------

    def observe(self, status_code: int | None, retry_after: float | None) -> bool:
        """Take note of one answer; True when its ``Retry-After`` began or grew a pause."""
        if status_code not in THROTTLE_STATUSES or retry_after is None:
            return False
        return self.throttle(retry_after)

    def throttle(self, seconds: float) -> bool:
        """Start no request for ``seconds`` (clamped); True when this began or grew a pause."""
        if not math.isfinite(seconds) or seconds <= 0:
            return False
        asked = min(seconds, self.config.max_pause)
        until = self._clock() + asked
        if until <= self._until:
            return False
        self._until = until
        self._wake_all()  # waiters re-plan their sleep against the new end
        if self._on_pause is not None:
            self._on_pause(until, asked)
        return True

    def set_ceiling(self, ceiling: int) -> None:
        """Use a new concurrency from now on."""
        self._ceiling = max(1, ceiling)
        self._wake_all()

    async def acquire(self) -> None:
        """Wait until one more request may start, and count it in flight.

        Cancelling the wait leaves nothing counted.
        """
        loop = asyncio.get_running_loop()
        while True:
            wait = self.wait_time()
            if wait == 0.0:
                self._in_flight += 1
                return
            woken: asyncio.Future[None] = loop.create_future()
            self._waiters.append(woken)
            timer = None if wait is None else asyncio.ensure_future(self._sleep(wait))
            try:
                await asyncio.wait(
                    [woken] if timer is None else [woken, timer],
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(woken)
                if timer is not None and not timer.done():
                    timer.cancel()

    def release(self) -> None:
        """One request counted by :meth:`acquire` finished."""
        self._in_flight = max(0, self._in_flight - 1)
        if self._waiters:
            woken = self._waiters.pop(0)
            if not woken.done():
                woken.set_result(None)

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        for woken in waiters:
            if not woken.done():
                woken.set_result(None)
