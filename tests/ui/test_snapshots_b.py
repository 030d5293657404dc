"""Snapshots of the statistics, mailing detail and log screens at 80x24 and 120x40.

The real app (``make_app``: no sender) on a seeded store with a clock that
stands still. The live figures are one fixed :class:`SenderSnapshot` (the
app's standby reader is pinned to it, so no read can change them), and the log
ring holds fixed lines, so nothing on screen depends on timing. Regenerate
with ``--snapshot-update`` and look at the SVGs in ``__snapshots__`` before
committing them.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from notifier_tui.core.events import SenderSnapshot
from notifier_tui.core.standby import StandbyFigures
from notifier_tui.core.store import Store
from notifier_tui.settings.logs import LogRing
from tests.ui.conftest import AppFactory, FakeClock, go
from tests.ui.stats_harness import seed, snapshot

pytestmark = pytest.mark.timeout(60)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

LOG_LINES = [
    "2026-12-01 12:59:58,101 INFO    notifier_tui.core.sender: sending is done by this process",
    "2026-12-01 12:59:58,230 INFO    notifier_tui.core.sender: audience materialised"
    " mailing=1 messages=40",
    "2026-12-01 12:59:59,004 INFO    notifier_tui.core.sender: answer mailing=1 message=1"
    " client=1 failed permanently: HTTP 400: invalid phone",
    "2026-12-01 12:59:59,517 WARNING notifier_tui.core.sender: answer mailing=1 message=2"
    " client=2 transient (timeout after 5 s); retry 1 in 0.8 s",
    "2026-12-01 13:00:00,020 WARNING notifier_tui.core.sender: breaker open after 10"
    " consecutive failures; probe in 5 s",
    "2026-12-01 13:00:05,031 INFO    notifier_tui.core.sender: breaker closed: probe"
    " mailing=1 message=2 client=2 accepted",
    "2026-12-01 13:00:06,412 INFO    notifier_tui.ui: user takes over sending",
]


@pytest.fixture
def fixed_live(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> SenderSnapshot:
    """Pin the app's standby reader (no sender here) to one snapshot."""
    figures = snapshot(clock.now)
    monkeypatch.setattr(StandbyFigures, "read", lambda *_args, **_kwargs: figures)
    return figures


@pytest.mark.parametrize("size", SIZES)
def test_stats_screen(
    snap_compare: Any,
    make_app: AppFactory,
    store: Store,
    clock: FakeClock,
    fixed_live: SenderSnapshot,
    size: Any,
) -> None:
    seed(store, clock.now)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "3", "down")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_mailing_detail_screen(
    snap_compare: Any,
    make_app: AppFactory,
    store: Store,
    clock: FakeClock,
    fixed_live: SenderSnapshot,
    size: Any,
) -> None:
    seed(store, clock.now)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "3", "down", "down", "enter", "down")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_mailing_detail_filtered(
    snap_compare: Any,
    make_app: AppFactory,
    store: Store,
    clock: FakeClock,
    fixed_live: SenderSnapshot,
    size: Any,
) -> None:
    seed(store, clock.now)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "3", "down", "down", "enter", "f")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_log_screen(
    snap_compare: Any,
    make_app: AppFactory,
    store: Store,
    fixed_live: SenderSnapshot,
    size: Any,
) -> None:
    ring = LogRing()
    ring.lines.extend(LOG_LINES)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "4")

    assert snap_compare(make_app(log_ring=ring), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_log_screen_filtered(
    snap_compare: Any,
    make_app: AppFactory,
    store: Store,
    fixed_live: SenderSnapshot,
    size: Any,
) -> None:
    ring = LogRing()
    ring.lines.extend(LOG_LINES)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "4", "slash", *"message=2")

    assert snap_compare(make_app(log_ring=ring), terminal_size=size, run_before=run_before)
