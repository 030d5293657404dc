"""Rolling figures for the live screen and metrics: rate, latency, error rate, and their series.

Two layers, both bounded and fed by one :meth:`LiveWindow.record` per answered
(or failed) request, so a sender at thousands of messages per second pays a few
integer increments, a random draw and at most one list store per request:

- per second, over the last ``history_seconds``: requests accepted, tried
  again later, and failed for good (the rate, the error rate, the chart of
  messages per second by outcome);
- per ``bucket_seconds`` (10 s) step, aligned on whole multiples of it so a
  step means the same stretch of time from one snapshot to the next: a
  uniform sample of the answered requests' latencies (a reservoir of at most
  ``bucket_samples``) and the requests not accepted by error class.
  Percentiles are computed from the sample only when a snapshot asks.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Callable
from statistics import quantiles

from notifier_tui.core.events import LatencyPoint, OutcomeRates

__all__ = ["LiveWindow", "percentiles"]


def percentiles(sample: list[float]) -> tuple[float | None, float | None]:
    """p50 and p95 of ``sample`` (one value is both; none is neither)."""
    if len(sample) < 2:
        return (sample[0], sample[0]) if sample else (None, None)
    cuts = quantiles(sample, n=20)
    return cuts[9], cuts[18]


class _Step:
    """One 10 s step: a uniform sample of its answers' latencies and its failures by class."""

    __slots__ = ("draw", "errors", "index", "limit", "sample", "seen")

    def __init__(self, index: int, limit: int, draw: Callable[[], float]) -> None:
        self.index = index
        self.limit = limit
        self.draw = draw
        self.sample: list[float] = []
        self.seen = 0
        self.errors: Counter[str] = Counter()

    def add(self, latency: float) -> None:
        # Reservoir sampling (Vitter's algorithm R): every answer of the step has
        # the same chance to be in the sample, whatever its order or rhythm.
        self.seen += 1
        if len(self.sample) < self.limit:
            self.sample.append(latency)
            return
        slot = int(self.draw() * self.seen)
        if slot < self.limit:
            self.sample[slot] = latency

    def latency(self) -> LatencyPoint:
        return LatencyPoint(*percentiles(self.sample))


class LiveWindow:
    """Per-second counts over the last few minutes, 10 s steps of latency and errors."""

    def __init__(
        self,
        history_seconds: int = 300,
        latency_samples: int = 2000,
        bucket_seconds: int = 10,
        bucket_samples: int = 256,
        rng: random.Random | None = None,
    ) -> None:
        self.history_seconds = history_seconds
        self.bucket_seconds = bucket_seconds
        # Each second: (accepted, requests, not accepted, of those tried again).
        self._history: deque[tuple[int, int, int, int]] = deque(maxlen=history_seconds)
        self._second = -1
        self._accepted = 0
        self._requests = 0
        self._failed = 0
        self._retried = 0
        self._latencies: deque[float] = deque(maxlen=latency_samples)
        self.by_outcome: Counter[str] = Counter()
        self._bucket_samples = bucket_samples
        self._draw = (rng or random.Random()).random
        self._steps: deque[_Step] = deque(maxlen=max(1, history_seconds // bucket_seconds))
        self._step = _Step(-1, bucket_samples, self._draw)
        """The step under way (index -1 until the first call)."""
        self._problem: tuple[float, str, str] | None = None
        """The latest request not accepted: (monotonic time, error class value, reason)."""

    def _roll(self, now: float) -> None:
        second = int(now)
        if second == self._second:
            return
        if self._second >= 0:
            self._history.append((self._accepted, self._requests, self._failed, self._retried))
            # Seconds with no activity still count as zero in the history.
            for _ in range(min(second - self._second - 1, self._history.maxlen or 0)):
                self._history.append((0, 0, 0, 0))
        self._second = second
        self._accepted, self._requests, self._failed, self._retried = 0, 0, 0, 0
        self._roll_step(second // self.bucket_seconds)

    def _roll_step(self, index: int) -> None:
        step = self._step
        if step.index == index:
            return
        if step.index >= 0:
            self._steps.append(step)
            # Steps with no activity are kept as empty ones: the series has no holes.
            first = max(step.index + 1, index - (self._steps.maxlen or 0))
            for gap in range(first, index):
                self._steps.append(_Step(gap, 0, self._draw))
        self._step = _Step(index, self._bucket_samples, self._draw)

    def record(
        self,
        now: float,
        accepted: bool,
        latency: float | None,
        kind: str,
        *,
        retried: bool = False,
        reason: str = "",
    ) -> None:
        """One request's outcome.

        Args:
            now: monotonic seconds.
            accepted: the gateway took the message.
            latency: seconds to the answer, ``None`` when none came (it says
                nothing of the gateway's speed).
            kind: ``ok`` or the error class's value.
            retried: not accepted, and the message will be tried again (else a
                request not accepted counts as failed for good).
            reason: the gateway result's short text (``connect error: name not
                resolved``), kept for the latest failure only.
        """
        self._roll(now)
        self._requests += 1
        self.by_outcome[kind] += 1
        step = self._step
        if accepted:
            self._accepted += 1
            self._problem = None  # an answer taken since: the gateway works
        else:
            self._failed += 1
            if retried:
                self._retried += 1
            step.errors[kind] += 1
            self._problem = (now, kind, reason)
        if latency is not None:
            self._latencies.append(latency)
            step.add(latency)

    def problem(self, now: float, within: float = 60.0) -> tuple[str, str] | None:
        """``(error class, reason)`` of the latest request if it failed in the last ``within`` s."""
        if self._problem is None or now - self._problem[0] > within:
            return None
        return self._problem[1], self._problem[2]

    def rate(self, now: float, seconds: int = 5) -> float:
        """Accepted messages per second over the last complete seconds."""
        self._roll(now)
        recent = list(self._history)[-seconds:]
        return sum(s[0] for s in recent) / len(recent) if recent else 0.0

    def history(self, now: float) -> tuple[float, ...]:
        """Accepted messages per second, one per complete second, oldest first."""
        self._roll(now)
        return tuple(float(s[0]) for s in self._history)

    def outcome_history(self, now: float) -> tuple[OutcomeRates, ...]:
        """Requests per second by outcome, one per complete second, oldest first."""
        self._roll(now)
        return tuple(
            OutcomeRates(float(a), float(retried), float(failed - retried))
            for a, _, failed, retried in self._history
        )

    def latency_history(self, now: float) -> tuple[LatencyPoint, ...]:
        """p50/p95 of answered requests per step, oldest first, the step under way last."""
        self._roll(now)
        return tuple(s.latency() for s in self._window())

    def errors_by_class(self, now: float) -> dict[str, int]:
        """Requests not accepted over the steps of the window, by error class."""
        self._roll(now)
        total: Counter[str] = Counter()
        for step in self._window():
            total.update(step.errors)
        return dict(total)

    def _window(self) -> list[_Step]:
        """The steps of the window, the one under way last (the oldest complete one drops)."""
        return [*self._steps, self._step][-(self._steps.maxlen or 1) :]

    def error_rate(self, now: float, seconds: int = 60) -> float:
        """Share of requests not accepted over the last ``seconds`` (and this one)."""
        self._roll(now)
        recent = [*list(self._history)[-seconds:], (self._accepted, self._requests, self._failed)]
        requests = sum(s[1] for s in recent)
        return sum(s[2] for s in recent) / requests if requests else 0.0

    def latency(self) -> tuple[float | None, float | None]:
        """p50 and p95 of recent request latencies, in seconds."""
        return percentiles(list(self._latencies))
