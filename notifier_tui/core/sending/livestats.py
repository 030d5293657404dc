"""Rolling figures for the live screen and metrics: rate, latency, error rate."""

from __future__ import annotations

from collections import Counter, deque
from statistics import quantiles


class LiveWindow:
    """Per-second buckets over the last few minutes, plus a latency sample."""

    def __init__(self, history_seconds: int = 300, latency_samples: int = 2000) -> None:
        self._history: deque[tuple[int, int, int]] = deque(maxlen=history_seconds)
        self._second = -1
        self._accepted = 0
        self._requests = 0
        self._failed = 0
        self._latencies: deque[float] = deque(maxlen=latency_samples)
        self.by_outcome: Counter[str] = Counter()

    def _roll(self, now: float) -> None:
        second = int(now)
        if second == self._second:
            return
        if self._second >= 0:
            self._history.append((self._accepted, self._requests, self._failed))
            # Seconds with no activity still count as zero in the history.
            for _ in range(min(second - self._second - 1, self._history.maxlen or 0)):
                self._history.append((0, 0, 0))
        self._second, self._accepted, self._requests, self._failed = second, 0, 0, 0

    def record(self, now: float, accepted: bool, latency: float | None, kind: str) -> None:
        self._roll(now)
        self._requests += 1
        self.by_outcome[kind] += 1
        if accepted:
            self._accepted += 1
        else:
            self._failed += 1
        if latency is not None:
            self._latencies.append(latency)

    def rate(self, now: float, seconds: int = 5) -> float:
        """Accepted messages per second over the last complete seconds."""
        self._roll(now)
        recent = list(self._history)[-seconds:]
        return sum(a for a, _, _ in recent) / len(recent) if recent else 0.0

    def history(self, now: float) -> tuple[float, ...]:
        self._roll(now)
        return tuple(float(a) for a, _, _ in self._history)

    def error_rate(self, now: float, seconds: int = 60) -> float:
        self._roll(now)
        recent = [*list(self._history)[-seconds:], (self._accepted, self._requests, self._failed)]
        requests = sum(r for _, r, _ in recent)
        return sum(f for _, _, f in recent) / requests if requests else 0.0

    def latency(self) -> tuple[float | None, float | None]:
        """p50 and p95 of recent request latencies, in seconds."""
        sample = list(self._latencies)
        if len(sample) < 2:
            return (sample[0], sample[0]) if sample else (None, None)
        cuts = quantiles(sample, n=20)
        return cuts[9], cuts[18]
