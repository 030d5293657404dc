"""A token bucket for the optional global messages-per-second cap (docs/domain.md rule 6).

API::

    bucket = TokenBucket(rate, burst=None, clock=time.monotonic, sleep=asyncio.sleep)
    await bucket.acquire()      # wait for one token; rate <= 0 means no limit
    bucket.delay()              # seconds until a token is free (0 = now); a pure query
    bucket.set_rate(rate)       # change the rate (a settings reload), keeping the tokens

The bucket holds at most ``burst`` tokens (default a tenth of a second's worth,
at least one) and gains ``rate`` a second. Waiters queue in arrival order: the
lock makes one waiter at a time sleep for the exact deficit, instead of all of
them waking to race for each token.

Over any span of ``T`` seconds at most ``burst + rate * T`` acquisitions
succeed, so a 5 s run at 200/s with the default burst of 20 is at most 2% over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]

_EPSILON = 1e-9


class TokenBucket:
    """Allows ``rate`` acquisitions per second on average, bursts up to ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Make a full bucket.

        Args:
            rate: Tokens a second; 0 or less means no limit.
            burst: Most tokens held at once; default ``max(1, rate / 10)``.
            clock: Monotonic seconds; tests pass a fake one.
            sleep: How to wait; tests pass one that moves their fake clock.
        """
        self._clock = clock
        self._sleep = sleep
        self._explicit_burst = burst
        self._tokens = 0.0
        self._stamp = clock()
        self.rate = 0.0
        self.burst = 1.0
        self.set_rate(rate)
        self._tokens = self.burst
        self._lock = asyncio.Lock()

    def set_rate(self, rate: float) -> None:
        """Use a new rate from now on; tokens held beyond the new burst are dropped."""
        if self.rate > 0:
            self._refill(self._clock())
        self.rate = rate
        self.burst = (
            self._explicit_burst if self._explicit_burst is not None else max(1.0, rate / 10)
        )
        self._tokens = min(self._tokens, self.burst)

    def delay(self) -> float:
        """Seconds until a token is free for a newcomer, ignoring those queued before it."""
        if self.rate <= 0:
            return 0.0
        tokens = self._level(self._clock())
        return 0.0 if tokens >= 1 - _EPSILON else (1 - tokens) / self.rate

    async def acquire(self) -> None:
        """Wait for one token; a rate of 0 or less means no limit."""
        if self.rate <= 0:
            return
        # The lock makes waiters queue fairly instead of all waking to race.
        async with self._lock:
            while self.rate > 0:
                self._refill(self._clock())
                # The epsilon: after sleeping the exact deficit, float rounding can
                # leave 0.9999999 tokens and a sleep too short to move the clock.
                if self._tokens >= 1 - _EPSILON:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)

    def _level(self, now: float) -> float:
        return min(self.burst, self._tokens + max(0.0, now - self._stamp) * self.rate)

    def _refill(self, now: float) -> None:
        self._tokens = self._level(now)
        self._stamp = now
