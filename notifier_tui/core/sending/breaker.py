"""Circuit breaker and retry backoff: how the sender treats a failing gateway.

States::

    CLOSED --(threshold consecutive transient failures)--> OPEN
    OPEN --(cool-down elapsed)--> HALF_OPEN: exactly one probe request
    HALF_OPEN --probe accepted--> CLOSED          (cool-down reset)
    HALF_OPEN --probe failed----> OPEN            (cool-down doubled, capped)

While OPEN no request is started and no attempt is charged to any message.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from notifier_tui.core.events import BreakerState


@dataclass
class CircuitBreaker:
    threshold: int = 10
    cooldown: float = 5.0
    max_cooldown: float = 120.0
    clock: Callable[[], float] = field(default=lambda: 0.0)
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    current_cooldown: float = 0.0
    probe_in_flight: bool = False

    def __post_init__(self) -> None:
        self.current_cooldown = self.cooldown

    @property
    def probe_due_at(self) -> float | None:
        """Monotonic time when the next probe may go, while open."""
        return self.opened_at + self.current_cooldown if self.state is BreakerState.OPEN else None

    def capacity(self) -> int | None:
        """How many requests may start now: None = unbounded, else 0 or 1 (the probe)."""
        if (
            self.state is BreakerState.OPEN
            and self.clock() >= self.opened_at + self.current_cooldown
        ):
            self.state = BreakerState.HALF_OPEN
        if self.state is BreakerState.CLOSED:
            return None
        return 1 if self.state is BreakerState.HALF_OPEN and not self.probe_in_flight else 0

    def allow(self) -> bool:
        """Whether a request may start now; claims the probe slot when half-open."""
        room = self.capacity()
        if room == 1:
            self.probe_in_flight = True
        return room is None or room == 1

    def success(self) -> bool:
        """Record an answered request; True when this closed the breaker."""
        self.failures = 0
        if self.state is BreakerState.CLOSED:
            return False
        self.state = BreakerState.CLOSED
        self.current_cooldown = self.cooldown
        self.probe_in_flight = False
        return True

    def failure(self) -> bool:
        """Record a transient failure; True when this opened the breaker."""
        if self.state is BreakerState.HALF_OPEN:
            self.current_cooldown = min(self.current_cooldown * 2, self.max_cooldown)
            self._open()
            return True
        if self.state is BreakerState.OPEN:
            return False
        self.failures += 1
        if self.failures >= self.threshold:
            self._open()
            return True
        return False

    def _open(self) -> None:
        self.state = BreakerState.OPEN
        self.opened_at = self.clock()
        self.probe_in_flight = False
        self.failures = 0

    def reset(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.current_cooldown = self.cooldown
        self.probe_in_flight = False


def backoff_delay(
    attempt: int, base: float, cap: float, rng: Callable[[float, float], float] = random.uniform
) -> float:
    """Exponential backoff with full jitter: uniform in ``[0, min(cap, base * 2**(attempt-1))]``.

    Full jitter spreads retries of a burst that failed together, so a gateway
    coming back is not hit by all of them in the same instant.
    """
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return rng(0.0, ceiling)
