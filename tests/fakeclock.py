"""A clock that only moves when a test moves it, shared by the core and UI tests."""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    """Callable like ``datetime.now(UTC)``; stands still at ``now`` until moved."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return self.now
