"""The charts' series go from a sender's LiveWindow, through its registry row, to standby.

A real LiveWindow on fake monotonic time, the figures a sender publishes
(core/sending/fleet.py's ``figures_of``) written into a real store's worker
registry, and read back by :class:`StandbyFigures` as a UI that does not send
reads them. The published series are coarse (10 s steps), small, and a row of
an older sender without them still reads, with empty series.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier_tui.core.events import (
    BreakerState,
    GatewayHealth,
    LatencyPoint,
    OutcomeRates,
    SenderSnapshot,
)
from notifier_tui.core.sending.fleet import figures_of
from notifier_tui.core.sending.livestats import LiveWindow
from notifier_tui.core.standby import StandbyFigures
from notifier_tui.core.store import Store
from notifier_tui.core.store import workers as registry
from notifier_tui.core.store.workers import WorkerStatus
from tests.core.conftest import FakeClock

M0 = 5000.0
"""Monotonic seconds at the start, on a 10 s step boundary."""


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    s = Store(tmp_path / "store.db", clock=clock)
    yield s
    s.close()


def snapshot_of(live: LiveWindow, now: float, clock: FakeClock) -> SenderSnapshot:
    """What build_snapshot makes of the window (its series; the rest plausible)."""
    p50, p95 = live.latency()
    return SenderSnapshot(
        at=clock(),
        sending=True,
        holder=None,
        health=GatewayHealth.OK,
        breaker=BreakerState.CLOSED,
        next_probe_at=None,
        in_flight=3,
        rate=live.rate(now),
        latency_p50=p50,
        latency_p95=p95,
        error_rate=live.error_rate(now),
        sent_total=0,
        failed_total=0,
        retries_total=0,
        credentials_error=None,
        rate_history=live.history(now),
        requests_by_outcome=dict(live.by_outcome),
        outcome_history=live.outcome_history(now),
        outcome_step=1.0,
        latency_history=live.latency_history(now),
        latency_step=float(live.bucket_seconds),
        errors_by_class=live.errors_by_class(now),
        series_window=float(live.history_seconds),
    )


def publish(store: Store, clock: FakeClock, pid: int, figures: dict[str, object]) -> None:
    now = clock()
    row = WorkerStatus(f"box:{pid}", "box", pid, "daemon", pid == 1, True, now, now, figures)
    registry.for_store(store).publish(row)


def busy_window(seconds: int = 60) -> LiveWindow:
    """``seconds`` of 20 accepted, 2 retried (timeout) and 1 failed (HTTP 4xx) a second."""
    live = LiveWindow(rng=random.Random(5))
    for s in range(seconds):
        t = M0 + s
        for i in range(20):
            live.record(t + i / 40, True, 0.05 + (s % 10) / 100, "ok")
        live.record(t + 0.6, False, None, "timeout", retried=True)
        live.record(t + 0.7, False, None, "timeout", retried=True)
        live.record(t + 0.8, False, 0.02, "http_4xx")
    return live


def test_the_series_round_trip_through_the_store(store: Store, clock: FakeClock) -> None:
    live = busy_window(60)
    now = M0 + 60
    figures = figures_of(snapshot_of(live, now, clock))
    publish(store, clock, 1, figures)

    snap = StandbyFigures().read(store, 1.0, None)
    assert snap.figures_of == "daemon pid 1 on box"
    # 60 s of per-second outcomes become six 10 s means, the same rates.
    assert snap.outcome_step == 10.0
    assert snap.outcome_history == (OutcomeRates(20.0, 2.0, 1.0),) * 6
    # Latency per 10 s step: six complete ones and the (empty) one under way.
    assert snap.latency_step == 10.0
    assert len(snap.latency_history) == 7
    assert snap.latency_history[-1] == LatencyPoint(None, None)
    first = snap.latency_history[0]
    assert first.p50 is not None and first.p95 is not None
    assert 0.05 <= first.p50 <= first.p95 <= 0.14
    assert snap.errors_by_class == {"timeout": 120, "http_4xx": 60}
    assert snap.series_window == 300.0


def test_a_full_window_publishes_a_small_row(store: Store, clock: FakeClock) -> None:
    live = busy_window(400)
    now = M0 + 400
    figures = figures_of(snapshot_of(live, now, clock))
    assert len(figures["outcomes"]) == 30 and len(figures["latency_history"]) == 30
    # The whole row, as JSON: a couple of kilobytes a second, not raw samples.
    assert len(json.dumps(figures)) < 3000
    publish(store, clock, 1, figures)
    snap = StandbyFigures().read(store, 1.0, None)
    assert len(snap.outcome_history) == 30 and len(snap.latency_history) == 30


def test_a_row_without_the_series_reads_as_empty_series(store: Store, clock: FakeClock) -> None:
    # What a sender of the previous version publishes.
    publish(
        store,
        clock,
        1,
        {"rate": 12.0, "requests_by_outcome": {"ok": 10}, "rate_history": [11.0, 12.0]},
    )
    snap = StandbyFigures().read(store, 1.0, None)
    assert snap.rate == 12.0 and snap.rate_history == (11.0, 12.0)
    assert snap.outcome_history == () and snap.latency_history == ()
    assert snap.errors_by_class == {}
    assert snap.series_window == 300.0


def test_malformed_series_are_ignored(store: Store, clock: FakeClock) -> None:
    publish(
        store,
        clock,
        1,
        {
            "outcome_step": 10,
            "outcomes": [[1, 2], "x"],
            "latency_step": "soon",
            "latency_history": [[0.1, 0.2]],
            "errors_by_class": {"timeout": "many", "http_5xx": 3},
        },
    )
    snap = StandbyFigures().read(store, 1.0, None)
    assert snap.outcome_history == () and snap.latency_history == ()
    assert snap.errors_by_class == {"http_5xx": 3}


def test_several_senders_add_up_and_take_the_slowest_latency(
    store: Store, clock: FakeClock
) -> None:
    base = {"outcome_step": 10.0, "latency_step": 10.0, "series_window": 300.0}
    publish(
        store,
        clock,
        1,
        {
            **base,
            "outcomes": [[10, 1, 0], [12, 0, 1]],
            "latency_history": [[0.05, 0.1], None, [0.05, 0.1]],
            "errors_by_class": {"timeout": 4},
        },
    )
    clock.advance(seconds=0.01)
    publish(
        store,
        clock,
        2,
        {
            **base,
            "outcomes": [[5, 0, 0]],  # a younger worker: aligned on the newest step
            "latency_history": [[0.2, 0.4], [0.01, 0.02]],
            "errors_by_class": {"timeout": 1, "http_5xx": 2},
        },
    )
    snap = StandbyFigures().read(store, 1.0, None)
    assert snap.outcome_history == (OutcomeRates(10, 1, 0), OutcomeRates(17, 0, 1))
    assert snap.latency_history == (
        LatencyPoint(0.05, 0.1),
        LatencyPoint(0.2, 0.4),
        LatencyPoint(0.05, 0.1),
    )
    assert snap.errors_by_class == {"timeout": 5, "http_5xx": 2}


def test_what_is_wrong_with_the_gateway_reaches_a_ui_that_does_not_send(
    store: Store, clock: FakeClock
) -> None:
    """The header of a UI attached to a daemon names the daemon's gateway problem."""
    import dataclasses

    live = LiveWindow(rng=random.Random(1))
    live.record(M0, False, None, "connect", retried=True, reason="connect error: refused")
    down = dataclasses.replace(
        snapshot_of(live, M0 + 1, clock),
        health=GatewayHealth.DOWN,
        breaker=BreakerState.OPEN,
        gateway_problem="unreachable: connection refused",
    )
    publish(store, clock, 1, figures_of(down))
    read = StandbyFigures().read(store, 5.0, None)
    assert read.health is GatewayHealth.DOWN
    assert read.gateway_problem == "unreachable: connection refused"
    # An older sender's row has no such key: no problem is invented.
    old = {k: v for k, v in figures_of(down).items() if k != "gateway_problem"}
    publish(store, clock, 1, old)
    assert StandbyFigures().read(store, 5.0, None).gateway_problem is None
