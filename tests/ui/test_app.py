"""The app shell: screens, header, quitting, errors, the too-small view."""

from __future__ import annotations

import logging

import pytest
from textual.widgets import Static

from notifier_tui.core import events as ev
from notifier_tui.core.store import Store
from notifier_tui.ui.bridge import SenderEvent
from notifier_tui.ui.screens.clients import ClientsScreen
from notifier_tui.ui.screens.log import LogScreen
from notifier_tui.ui.screens.mailings import MailingsScreen
from notifier_tui.ui.screens.stats import StatsScreen
from notifier_tui.ui.screens.too_small import TooSmallScreen
from notifier_tui.ui.widgets.header import StatusHeader
from tests.ui.conftest import SIZE, AppFactory, settle

pytestmark = pytest.mark.timeout(30)


def header_text(app: object) -> str:
    header = app.screen.query_one(StatusHeader)  # type: ignore[attr-defined]
    line = header.query_one("#status-line", Static).render()
    clock = header.query_one("#status-clock", Static).render()
    return f"{line} {clock}"


async def test_keys_1_to_4_switch_screens(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        for key, screen in (
            ("2", MailingsScreen),
            ("3", StatsScreen),
            ("4", LogScreen),
            ("1", ClientsScreen),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen), key


async def test_header_shows_time_from_the_app_clock_and_who_sends(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = header_text(app)
        # 10:00 UTC is 13:00 in Moscow, the display timezone.
        assert "13:00:00 MSK" in text
        assert "sending: nobody (view only)" in text


async def test_q_quits_cleanly_with_exit_code_0(make_app: AppFactory, store: Store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause(0.2)
    assert app.return_code == 0
    # The store is still usable by whoever owns it (run_ui closes it after the app).
    assert store.count_clients() == 0


async def test_sender_errors_are_notified_and_failed_workers_reported(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.post_message(SenderEvent(ev.SenderError("dispatch", "OperationalError('locked')")))
        await pilot.pause()
        assert any("OperationalError" in n.message for n in app._notifications)

        async def boom() -> None:
            raise RuntimeError("disk on fire")

        with caplog.at_level(logging.ERROR, logger="notifier_tui"):
            app.screen.run_worker(boom(), name="boom", exit_on_error=False)
            await pilot.pause(0.1)
        assert any("disk on fire" in n.message for n in app._notifications)
        assert "disk on fire" in caplog.text
        assert app.is_running


async def test_too_small_terminal_shows_a_notice_until_resized(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        text = str(app.screen.query_one("#too-small-text", Static).render())
        assert "60x20" in text and "80x24" in text
        await pilot.press("2")  # screen keys do nothing under the notice
        await pilot.resize_terminal(*SIZE)
        await pilot.pause(0.1)
        assert isinstance(app.screen, ClientsScreen)
