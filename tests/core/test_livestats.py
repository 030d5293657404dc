"""LiveWindow's series for the charts, on fake monotonic time (every call takes ``now``).

Per second: accepted, tried again and failed for good; per 10 s step, aligned on
multiples of 10: latency percentiles of the answered requests and the failures
by class. Everything stays bounded however long the sender runs.
"""

from __future__ import annotations

import random

import pytest

from notifier_tui.core.events import LatencyPoint, OutcomeRates
from notifier_tui.core.sending.livestats import LiveWindow, _Step

T = 1000.0
"""A monotonic start on a step boundary (1000 // 10 = 100)."""


def test_outcomes_per_second_split_retried_from_failed() -> None:
    live = LiveWindow()
    for _ in range(5):
        live.record(T + 0.1, True, 0.05, "ok")
    live.record(T + 0.2, False, None, "timeout", retried=True)
    live.record(T + 0.3, False, 0.01, "http_4xx")
    live.record(T + 2.5, True, 0.05, "ok")
    assert live.outcome_history(T + 3.0) == (
        OutcomeRates(5.0, 1.0, 1.0),
        OutcomeRates(0.0, 0.0, 0.0),  # a second without requests is a zero, not a hole
        OutcomeRates(1.0, 0.0, 0.0),
    )
    # The error rate still counts every request not accepted, retried or not.
    assert live.error_rate(T + 3.0) == pytest.approx(2 / 8)
    assert live.history(T + 3.0) == (5.0, 0.0, 1.0)


def test_a_request_not_accepted_is_failed_unless_said_retried() -> None:
    live = LiveWindow()
    live.record(T, False, 0.2, "http_5xx")
    assert live.outcome_history(T + 1) == (OutcomeRates(0.0, 0.0, 1.0),)


def test_the_outcome_history_is_bounded_by_the_window() -> None:
    live = LiveWindow(history_seconds=30)
    for s in range(100):
        live.record(T + s, True, 0.01, "ok")
    rates = live.outcome_history(T + 100)
    assert len(rates) == 30 and all(r == OutcomeRates(1.0, 0.0, 0.0) for r in rates)
    # A long pause: the window is all zeros, and no longer than it was.
    assert live.outcome_history(T + 10_000) == (OutcomeRates(0.0, 0.0, 0.0),) * 30


def test_latency_per_step_of_answered_requests_only() -> None:
    live = LiveWindow()
    for i in range(100):  # step 100: 1..100 ms
        live.record(T + i * 0.05, True, (i + 1) / 1000, "ok")
    live.record(T + 5, False, None, "connect")  # no answer: no latency
    for i in range(10):  # step 101: 200 ms flat
        live.record(T + 10 + i * 0.1, True, 0.2, "ok")
    # Step 102 has nothing; step 103 is under way with one answer.
    live.record(T + 31, False, 0.9, "http_5xx", retried=True)
    points = live.latency_history(T + 31.5)
    assert len(points) == 4
    first = points[0]
    assert first.p50 == pytest.approx(0.0505) and first.p95 == pytest.approx(0.09595)
    assert points[1] == pytest.approx(LatencyPoint(0.2, 0.2))
    assert points[2] == LatencyPoint(None, None)
    assert points[3] == LatencyPoint(0.9, 0.9)


def test_latency_steps_cover_the_window_and_no_more() -> None:
    live = LiveWindow(history_seconds=300, bucket_seconds=10)
    for s in range(0, 1000, 5):
        live.record(T + s, True, 0.1, "ok")
    points = live.latency_history(T + 1000)
    assert len(points) == 30
    assert all(p == pytest.approx(LatencyPoint(0.1, 0.1)) for p in points[:-1])
    assert points[-1] == LatencyPoint(None, None)  # the step under way has no answer yet
    # After a long silence the steps are empty ones, still 30 of them.
    assert live.latency_history(T + 50_000) == (LatencyPoint(None, None),) * 30


def test_errors_by_class_over_the_window() -> None:
    live = LiveWindow(history_seconds=60, bucket_seconds=10)
    live.record(T, False, 0.5, "http_5xx", retried=True)
    live.record(T + 1, False, 0.5, "http_5xx", retried=True)
    live.record(T + 2, False, None, "timeout", retried=True)
    live.record(T + 3, True, 0.1, "ok")
    live.record(T + 35, False, 0.01, "http_4xx")
    assert live.errors_by_class(T + 40) == {"http_5xx": 2, "timeout": 1, "http_4xx": 1}
    # Six steps later the first step's failures have left the window; the 4xx has not.
    assert live.errors_by_class(T + 65) == {"http_4xx": 1}
    assert live.errors_by_class(T + 200) == {}
    # The totals since the start are kept apart, for the metrics.
    assert live.by_outcome == {"http_5xx": 2, "timeout": 1, "ok": 1, "http_4xx": 1}


def test_a_steps_sample_stays_bounded_and_spread_over_the_step() -> None:
    step = _Step(0, 256, random.Random(7).random)
    for i in range(20_000):
        step.add(float(i))
    assert len(step.sample) == 256
    # Uniform: the kept values span the whole step, not its start or end only.
    assert min(step.sample) < 1_000 and max(step.sample) > 19_000
    p50, p95 = step.latency()
    assert p50 == pytest.approx(10_000, rel=0.1) and p95 == pytest.approx(19_000, rel=0.05)


def test_a_busy_step_keeps_its_percentiles_whatever_the_rhythm() -> None:
    live = LiveWindow(rng=random.Random(3))
    # 5,000 answers in one step: every 10th slow (1 s), the rest fast (10 ms). A
    # sample kept by a fixed stride would see the slow ones at the stride's rhythm.
    for i in range(5_000):
        live.record(T + i / 1000, True, 1.0 if i % 10 == 9 else 0.01, "ok")
    (point,) = live.latency_history(T + 6)
    assert point.p50 == pytest.approx(0.01)
    assert point.p95 == pytest.approx(1.0)
    slow = sum(1 for v in live._step.sample if v == 1.0)
    assert len(live._step.sample) == 256 and 10 <= slow <= 45  # about 10% of those kept
