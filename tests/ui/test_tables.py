"""Every table moves the same way: arrows, PageUp/PageDown, Home/End and g/G.

DataTable binds Home/End to the first and last column, which a row cursor
never uses; every table here is a LiveTable, whose Home/End and g/G go to the
first and last row. The clients table pages in SQL, so there they go to the
first and last client of the whole directory.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Log

from notifier_tui.core.store import Store
from notifier_tui.settings.logs import LogRing
from notifier_tui.ui.screens.clients import PAGE, ClientsScreen
from notifier_tui.ui.widgets.live_table import LiveTable
from tests.ui.conftest import SIZE, T0, AppFactory, add_clients, go, phone, settle

pytestmark = pytest.mark.timeout(60)


def live_table(pilot: Pilot[Any]) -> LiveTable:
    return pilot.app.screen.query_one(LiveTable)


async def check_moves(pilot: Pilot[Any], rows: int) -> None:
    """End, Home, G, g, PageDown and PageUp on the focused table of ``rows`` rows."""
    table = live_table(pilot)
    assert table.has_focus and table.row_count == rows
    for key, row in (("end", rows - 1), ("home", 0), ("G", rows - 1), ("g", 0)):
        await pilot.press(key)
        await pilot.pause()
        assert table.cursor_row == row, key
    await pilot.press("pagedown")
    await pilot.pause()
    assert table.cursor_row > 1
    await pilot.press("pageup")
    await pilot.pause()
    assert table.cursor_row == 0


@pytest.mark.parametrize(
    ("screen_keys", "rows"), [(("2",), 30), (("3",), 30), (("3", "enter"), 40)]
)
async def test_mailings_stats_and_details_tables(
    make_app: AppFactory, store: Store, screen_keys: tuple[str, ...], rows: int
) -> None:
    add_clients(store, 40)
    for n in range(30):
        store.create_mailing(T0 - timedelta(minutes=n + 1), T0 + timedelta(hours=1), f"M{n}")
    store.materialize_due(T0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, *screen_keys)
        await check_moves(pilot, rows)


async def test_clients_home_and_end_go_to_the_ends_of_the_directory(
    make_app: AppFactory, store: Store
) -> None:
    add_clients(store, PAGE * 3 + 5)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = live_table(pilot)
        screen = app.screen
        assert isinstance(screen, ClientsScreen)
        for key in ("end", "G"):
            await go(pilot, "home")
            await go(pilot, key)
            assert screen.page_offset == PAGE * 3, key
            assert str(table.get_row_at(table.cursor_row)[1]) == phone(PAGE * 3 + 4)
        for key in ("home", "g"):
            await go(pilot, "end")
            await go(pilot, key)
            assert screen.page_offset == 0, key
            assert table.cursor_row == 0
        await go(pilot, "pagedown")
        assert table.cursor_row > 1


async def test_log_g_and_shift_g(make_app: AppFactory) -> None:
    ring = LogRing()
    ring.lines.extend(f"line {n}" for n in range(200))
    app = make_app(log_ring=ring)
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "4")
        view = app.screen.query_one(Log)
        assert view.has_focus
        for key, top in (("g", True), ("G", False), ("home", True), ("end", False)):
            await pilot.press(key)
            await pilot.pause()
            assert (view.scroll_y == 0) is top, key
            assert (view.scroll_y == view.max_scroll_y) is not top, key
