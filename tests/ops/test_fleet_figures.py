"""The sender's live figures reach the store, and a UI that does not send shows them.

A real daemon subprocess sends to the simulator failing 15% of requests with
500s; this process reads the figures back from the store as a UI in standby
does (core/standby.py), and they are the daemon's: its retries, its errors by
class, its breaker (open once the gateway fails outright), labelled with who
sends. Before, standby showed zeros of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier_tui.core.events import BreakerState, SenderSnapshot
from notifier_tui.core.standby import StandbyFigures
from notifier_tui.core.store import Store
from notifier_tui.core.store import workers as registry
from notifier_tui.core.store.workers import WorkerStatus
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.ops.daemonproc import seeded, spawn, stop

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def failing_sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(fail_rate=0.15, latency_ms=20, seed=11))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def _read(store: Store, figures: StandbyFigures) -> SenderSnapshot:
    return await store.run(figures.read, store, 1.0, None)


async def test_standby_shows_the_daemons_figures(
    tmp_path: Path, failing_sim: GatewaySimulator, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "store.db"
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    store = stack.enter_context(seeded(db, 3000))
    proc = spawn(tmp_path, db, failing_sim.base_url, "a", env={"NOTIFIER_RATE_LIMIT": "100"})
    figures = StandbyFigures()
    latest: list[SenderSnapshot] = []

    async def read() -> SenderSnapshot:
        latest[:] = [await _read(store, figures)]
        return latest[0]

    async def shows_retries() -> bool:
        snap = await read()
        # The rate counts complete seconds: the first second of sending shows none yet.
        return (
            snap.retries_total >= 5
            and snap.requests_by_outcome.get("http_5xx", 0) >= 5
            and snap.rate > 0
        )

    try:
        await _until_async(shows_retries, 40)
        snap = latest[0]
        who = f"daemon pid {proc.pid} on {os.uname().nodename}"
        assert snap.figures_of == who and snap.holder == who
        assert not snap.sending
        assert snap.rate > 0 and snap.sent_total > 0 and 0 < snap.error_rate < 0.6
        assert snap.latency_p50 is not None and snap.latency_p95 is not None
        assert snap.latency_p50 >= 0.015  # the simulator's 20 ms, not a local zero
        assert snap.breaker is BreakerState.CLOSED
        assert [(w.pid, w.leader, w.sending) for w in snap.workers] == [(proc.pid, True, True)]

        failing_sim.config.fail_rate = 1.0  # the gateway fails outright: the breaker opens

        async def shows_open() -> bool:
            return (await read()).breaker is not BreakerState.CLOSED

        await _until_async(shows_open, 30)
        assert latest[0].workers[0].breaker is not BreakerState.CLOSED
    finally:
        code, err = stop(proc)
    assert code == 0, err
    # A clean stop takes its row away; nothing stale is shown afterwards.
    assert await store.run(registry.for_store(store).live, 3600.0) == []
    after = await _read(store, StandbyFigures())
    assert after.figures_of is None and after.workers == ()


async def test_stale_rows_are_ignored_and_pruned(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    try:
        reg = registry.for_store(store)
        now = datetime.now(UTC)
        old = now - timedelta(seconds=60)
        for owner, beat in (("dead", old), ("live", now)):
            reg.publish(
                WorkerStatus(
                    owner, "h", 1, "daemon", owner == "live", True, old, beat, {"rate": 7.0}
                )
            )
        assert [w.owner for w in reg.live(5.0, now)] == ["live"]
        snap = StandbyFigures().read(store, 1.0, None)
        assert snap.rate == 7.0 and snap.figures_of == "daemon pid 1 on h"
        assert reg.prune(5.0, now) == 1
        assert reg.get("dead") is None and reg.get("live") is not None
    finally:
        store.close()


async def _until_async(predicate: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_live_panel_names_every_worker(tmp_path: Path) -> None:
    from notifier_tui.ui.widgets.live_panel import sender_line

    store = Store(tmp_path / "store.db")
    try:
        reg = registry.for_store(store)
        now = datetime.now(UTC)
        for pid, leader, rate in ((11, True, 30.0), (12, False, 29.5)):
            figures = {"rate": rate, "breaker": "open" if pid == 12 else "closed", "sent": 5}
            reg.publish(
                WorkerStatus(f"o{pid}", "hostA", pid, "daemon", leader, True, now, now, figures)
            )
        snap = StandbyFigures().read(store, 1.0, None)
        assert snap.rate == 59.5 and snap.sent_total == 10
        assert snap.breaker is BreakerState.OPEN  # the worst of the two
        text = sender_line(snap).plain
        assert "figures of 2 workers (leader daemon pid 11 on hostA)" in text
        assert "pid 11 on hostA 30.0/s leader" in text
        assert "pid 12 on hostA 29.5/s breaker open" in text
    finally:
        store.close()
