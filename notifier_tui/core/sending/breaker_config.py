"""The circuit breaker's thresholds, with why each default is what it is.

Apart from :mod:`.breaker` because the settings and the benchmarks build a
config without needing the state machine; the breaker re-exports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BreakerConfig:
    """The breaker's thresholds; each field could be a setting."""

    window_calls: int = 100
    """How many of the latest answers the failure rate is computed over."""
    window_seconds: float = 30.0
    """Answers older than this many seconds leave the window whatever their number."""
    min_calls: int = 30
    """Answers the window must hold before its failure rate may open the breaker."""
    failure_rate: float = 0.6
    """Share of transient failures in the window at or above which the breaker opens.

    Above the failure share of a gateway that is up but flaky: with 100 answers
    at 31% failures, reaching 60% by chance is about a 1e-10 event."""
    consecutive_failures: int = 25
    """Transient failures in a row that open the breaker whatever the window holds (0 = off).

    A dead gateway fails every request at once; this trips it after 25 instead
    of the 60 a window full of successes would need. A gateway failing half its
    requests gives 25 in a row about once in 30 million answers."""
    probe_interval: float = 1.0
    """Seconds from opening to the first probe, and between probes while it stays down.

    One second keeps a dead gateway at one request a second and, against a
    recovered gateway that still fails 31%, finds it up within 3 s in 97% of
    outages (three scouts); a 2 s interval made that 85%."""
    probe_backoff: float = 1.0
    """Factor the probe interval grows by after each failed trial (1 = no growth)."""
    max_probe_interval: float = 2.0
    """Cap on the probe interval when it grows: sending resumes within about this long."""
    half_open_calls: int = 4
    """Probes of one half-open trial: the first alone, the rest together once it succeeds."""
    close_share: float = 0.5
    """Share of the trial's probes that must be accepted to close the breaker.

    Kept at or below ``1 - failure_rate``: a gateway good enough to stay closed
    is good enough to close, and the window reopens a bad one anyway."""
    probe_timeout: float = 30.0
    """A probe neither answered nor released after this long frees its slot (lost)."""

    def __post_init__(self) -> None:
        if self.window_calls < 1 or self.min_calls < 1 or self.half_open_calls < 1:
            raise ValueError("window_calls, min_calls and half_open_calls must be >= 1")
        if self.min_calls > self.window_calls:
            raise ValueError("min_calls cannot exceed window_calls")
        if not (0.0 < self.failure_rate <= 1.0 and 0.0 < self.close_share <= 1.0):
            raise ValueError("failure_rate and close_share must be in (0, 1]")
        if not (0.0 < self.probe_interval <= self.max_probe_interval):
            raise ValueError("need 0 < probe_interval <= max_probe_interval")
        if self.consecutive_failures < 0:
            raise ValueError("consecutive_failures must be >= 0")
        if self.probe_backoff < 1.0 or self.window_seconds <= 0 or self.probe_timeout <= 0:
            raise ValueError("probe_backoff >= 1, window_seconds > 0, probe_timeout > 0")

    @property
    def probes_to_close(self) -> int:
        """Accepted probes one trial needs to close the breaker."""
        return max(1, math.ceil(self.close_share * self.half_open_calls - 1e-9))

    @classmethod
    def from_legacy(cls, threshold: int, cooldown: float, max_cooldown: float) -> BreakerConfig:
        """The nearest config to the old ``(threshold, cooldown, max_cooldown)`` knobs.

        ``threshold`` becomes ``min_calls``. The cool-downs are kept only where
        they are shorter than the defaults: a 5 s first cool-down doubling up to
        a 120 s cap is what kept a recovered gateway idle for minutes.
        """
        base = cls()
        interval = min(cooldown, base.probe_interval)
        return cls(
            window_calls=max(base.window_calls, threshold),
            min_calls=max(1, threshold),
            probe_interval=interval,
            max_probe_interval=max(interval, min(max_cooldown, base.max_probe_interval)),
        )
