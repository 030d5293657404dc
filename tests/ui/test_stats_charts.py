"""The Stats screen's charts: msg/s by outcome, latency p50/p95, errors by class.

The screen runs in :class:`StatsTestApp` on a real store, and the test hands
the app a :class:`SenderSnapshot` with fixed series (the harness's, or changed
here), as the sender or the standby reader would. What is checked is what a
user reads: each chart's title, whose figures and what window it says, its
axis labels and bars, and that on a small terminal the table keeps the room.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widget import Widget

from notifier_tui.core.events import LatencyPoint
from notifier_tui.core.store import Store
from notifier_tui.ui.screens.stats import StatsScreen
from notifier_tui.ui.widgets.charts import (
    ErrorsChart,
    LatencyChart,
    LiveCharts,
    OutcomeChart,
    nice_ceiling,
)
from notifier_tui.ui.widgets.live_panel import LivePanel
from notifier_tui.ui.widgets.live_table import LiveTable
from tests.ui.conftest import screen_text
from tests.ui.stats_harness import FakeClock, StatsTestApp, seed, snapshot

CHARTS = (OutcomeChart, LatencyChart, ErrorsChart)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    s = Store(tmp_path / "store.db", clock=clock, default_timezone="Europe/Moscow")
    seed(s)
    yield s
    s.close()


async def shown(pilot: Pilot[None]) -> StatsScreen:
    screen = pilot.app.screen
    assert isinstance(screen, StatsScreen)
    await screen.reload()
    await pilot.pause()
    return screen


def plain(title: object) -> str:
    """A border title or subtitle as read (Textual keeps them as markup)."""
    return Text.from_markup(str(title)).plain


def visible(screen: StatsScreen, kind: type[Widget]) -> bool:
    """On screen: a widget hidden, or inside a hidden one, has no region."""
    return screen.query_one(kind).region.height > 0


async def test_the_three_charts_show_the_snapshots_series(store: Store, clock: FakeClock) -> None:
    app = StatsTestApp(store, clock, snapshot=snapshot())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await shown(pilot)
        assert all(visible(screen, kind) for kind in CHARTS)
        outcomes = screen.query_one(OutcomeChart)
        latency = screen.query_one(LatencyChart)
        errors = screen.query_one(ErrorsChart)
        assert plain(outcomes.border_title) == "msg/s accepted retried failed"
        assert plain(latency.border_title) == "latency ms p50 p95"
        assert plain(errors.border_title) == "errors by class"
        for chart in (outcomes, latency, errors):
            assert plain(chart.border_subtitle) == "last 5 min · this process"
        text = screen_text(app)
        # Axes: five minutes to now; round ticks (the harness peaks at 49 msg/s, 644 ms).
        assert "-5m" in text and "-1m" in text and "now" in text
        assert "45" in text and "800" in text and "600" in text
        # Bars, the most frequent class first, each with its count.
        lines = text.splitlines()
        order = [
            next(i for i, line in enumerate(lines) if label in line)
            for label in ("HTTP 5xx 160", "timeout 42", "HTTP 429 13", "connect 5")
        ]
        assert order == sorted(order)
        # The charts are drawn (braille dots and bar blocks), not notes.
        assert any(ch in text for ch in "⡀⠁⠂⠄⠈⠐⠠⢀") and "█" in text
        # The panel keeps its text figures above them, with their scope and window.
        assert plain(screen.query_one(LivePanel).border_title) == "Live · this process"
        assert "42.5 msg/s  peak 49.0 over 3 min │ errors 2.3% over 1 min" in text
        assert "pending 27 in store" in text
        assert "store: total 54" in text


async def test_another_processes_figures_say_whose(store: Store, clock: FakeClock) -> None:
    app = StatsTestApp(
        store,
        clock,
        snapshot=snapshot(
            sending=False, holder="daemon pid 4242 on box", figures_of="daemon pid 4242 on box"
        ),
    )
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await shown(pilot)
        for kind in CHARTS:
            subtitle = plain(screen.query_one(kind).border_subtitle)
            assert subtitle == "last 5 min · figures of daemon pid 4242 on box"
        assert plain(screen.query_one(LivePanel).border_title) == (
            "Live · figures of daemon pid 4242 on box"
        )


async def test_the_stores_counts_only_chart_the_sent_rate(store: Store, clock: FakeClock) -> None:
    # Nobody publishes figures: standby reads the rate off the store's sent count.
    app = StatsTestApp(
        store,
        clock,
        snapshot=snapshot(
            sending=False,
            latency_p50=None,
            latency_p95=None,
            outcome_history=(),
            latency_history=(),
            errors_by_class={},
        ),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await shown(pilot)
        assert all(visible(screen, kind) for kind in CHARTS)
        outcomes = screen.query_one(OutcomeChart)
        assert plain(outcomes.border_title) == "msg/s accepted"
        assert plain(outcomes.border_subtitle) == "last 5 min · whole store"
        text = screen_text(app)
        # Not "no errors" nor "no answers": nobody counted them.
        assert text.count("not known here") == 2
        assert any(ch in text for ch in "⡀⠁⠂⠄⠈⠐⠠⢀")  # the rate history is drawn


async def test_quiet_charts_say_so(store: Store, clock: FakeClock) -> None:
    app = StatsTestApp(
        store,
        clock,
        snapshot=snapshot(errors_by_class={}, latency_history=(LatencyPoint(None, None),) * 5),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot)
        text = screen_text(app)
        assert "no errors in the last 5 min" in text
        assert "no answers in the last 5 min" in text


async def test_no_snapshot_no_charts(store: Store, clock: FakeClock) -> None:
    app = StatsTestApp(store, clock, snapshot=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await shown(pilot)
        assert not any(visible(screen, kind) for kind in CHARTS)
        assert "no sender data yet" in screen_text(app)
        table = screen.query_one(LiveTable)
        assert table.region.height >= 10  # the table has the room instead
        app.snapshot = snapshot()
        await pilot.pause()
        assert all(visible(screen, kind) for kind in CHARTS)


async def test_at_80x24_the_table_keeps_the_room(store: Store, clock: FakeClock) -> None:
    app = StatsTestApp(store, clock, snapshot=snapshot())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await shown(pilot)
        assert not screen.query_one(LiveCharts).region.height
        table = screen.query_one(LiveTable)
        assert table.row_count == 3 and table.region.height >= 6
        # The figures stay as text.
        assert "42.5 msg/s" in screen_text(app)


async def test_narrow_but_tall_drops_the_latency_chart(store: Store, clock: FakeClock) -> None:
    app = StatsTestApp(store, clock, snapshot=snapshot())
    async with app.run_test(size=(80, 40)) as pilot:
        screen = await shown(pilot)
        assert visible(screen, OutcomeChart) and visible(screen, ErrorsChart)
        assert not visible(screen, LatencyChart)
        # Its figures now are on the panel's line.
        assert "p50 120 ms  p95 345 ms" in screen_text(app)


async def test_the_same_figures_draw_the_same_picture(store: Store, clock: FakeClock) -> None:
    pictures = []
    for _ in range(2):
        app = StatsTestApp(store, clock, snapshot=snapshot())
        async with app.run_test(size=(120, 40)) as pilot:
            await shown(pilot)
            pictures.append(screen_text(app))
    assert pictures[0] == pictures[1]


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        (0, 1),
        (0.7, 0.8),
        (1, 1),
        (1.2, 2),
        (3, 4),
        (4.1, 6),
        (49, 60),
        (60, 60),
        (644, 800),
        (9100, 10000),
    ],
)
def test_axes_end_on_round_numbers(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)
