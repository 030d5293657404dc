"""The app shell: screens, header, quitting, errors, the too-small view."""

from __future__ import annotations

import asyncio
import logging
import os
import pty
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from notifier_tui.core import events as ev
from notifier_tui.core.secret import Secret
from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings
from notifier_tui.settings.logs import LogRing
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from notifier_tui.ui.app import NotifierApp
from notifier_tui.ui.bridge import SenderActivity, SenderBridge, SenderEvent
from notifier_tui.ui.dialogs.client_form import ClientForm
from notifier_tui.ui.dialogs.take_over import TakeOverDialog
from notifier_tui.ui.hangup import terminal_hung_up
from notifier_tui.ui.screens.clients import ClientsScreen
from notifier_tui.ui.screens.help import HelpScreen
from notifier_tui.ui.screens.log import LogScreen
from notifier_tui.ui.screens.mailings import MailingsScreen
from notifier_tui.ui.screens.stats import StatsScreen
from notifier_tui.ui.screens.too_small import TooSmallScreen
from notifier_tui.ui.widgets.header import StatusHeader, health_text, sending_text, tabs_text
from tests.ui.conftest import (
    SIZE,
    T0,
    AppFactory,
    FakeClock,
    add_clients,
    go,
    notices,
    screen_text,
    settle,
    wait_for,
)

pytestmark = pytest.mark.timeout(30)


def header_text(app: NotifierApp) -> str:
    """The header of the topmost screen that has one (a dialog may be above it)."""
    screen = next(s for s in reversed(app.screen_stack) if s.query(StatusHeader))
    header = screen.query_one(StatusHeader)
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


DAEMON = "daemon-owner"


async def test_attached_to_a_daemon_then_taking_over(
    make_app: AppFactory, store: Store, settings: Settings, clock: FakeClock
) -> None:
    """Another process sends: the header says so and edits still work; when it goes, take over."""
    add_clients(store, 5)
    store.create_mailing(T0 - timedelta(minutes=1), T0 + timedelta(hours=1), "Hi")
    assert store.acquire_lease(DAEMON, 4242, "otherhost", "daemon", settings.lease_ttl)
    sim = GatewaySimulator(SimulatorConfig(seed=3))
    await sim.start()
    app = make_app(
        sender=True, settings=replace(settings, base_url=sim.base_url, token=Secret("t"))
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "daemon pid 4242 on otherhost" in header_text(app))
            assert app.sender is not None and not app.sender.is_holder
            # Edits go to the store; the daemon would pick them up by itself.
            await pilot.press("n")
            await settle(pilot)
            app.screen.query_one("#phone", Input).value = "79169990000"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert store.count_clients() == 6
            assert store.overall_stats().total == 0, "nothing is sent from here"
            # The daemon stops: its lease goes, and the user is asked.
            store.release_lease(DAEMON)
            await wait_for(pilot, lambda: isinstance(app.screen, TakeOverDialog))
            assert app.takeover_offered
            assert "t: take over" in header_text(app)
            await pilot.press("y")
            await wait_for(pilot, lambda: app.sender is not None and app.sender.is_holder)
            await wait_for(pilot, lambda: "sending: this process" in header_text(app))
            await wait_for(pilot, lambda: store.overall_stats().by_status.get("sent", 0) == 6)
            assert not app.takeover_offered
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running)
    finally:
        await sim.stop()
    assert store.lease_holder(settings.lease_ttl) is None


async def test_a_killed_holder_on_this_host_is_noticed_at_once(
    make_app: AppFactory, store: Store, settings: Settings
) -> None:
    """A same-host daemon killed -9 leaves a fresh lease; the pid check, not the TTL, frees it.

    The TTL is an hour, so only the kernel's answer about the pid can explain
    the offer. The dialog names the settings this process would send with.
    """
    import socket
    import subprocess
    import sys

    daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert store.acquire_lease(DAEMON, daemon.pid, socket.gethostname(), "daemon", 3600)
        app = make_app(
            sender=True,
            settings=replace(settings, lease_ttl=3600.0, rate_limit=20.0, concurrency=7),
        )
        async with app.run_test(size=SIZE) as pilot:
            # The sender itself (not only the header's store read) has seen the daemon.
            await wait_for(pilot, lambda: app.sender is not None and app.sender.holder is not None)
            assert f"daemon pid {daemon.pid}" in header_text(app)
            daemon.kill()
            daemon.wait(5)
            await wait_for(pilot, lambda: isinstance(app.screen, TakeOverDialog))
            assert "t: take over" in header_text(app)
            body = str(app.screen.query_one(".dialog-body", Static).render())
            assert "rate limit   20 msg/s" in body
            assert "concurrency  7 requests at a time" in body
            await pilot.press("n")
            await wait_for(pilot, lambda: not isinstance(app.screen, TakeOverDialog))
            assert app.sender is not None and not app.sender.is_holder
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running)
    finally:
        daemon.kill()
        daemon.wait(5)


def test_the_take_over_dialog_says_what_applies_and_where_it_came_from(
    settings: Settings,
) -> None:
    from notifier_tui.ui.dialogs.take_over import settings_lines

    unlimited = settings_lines(settings, 87.0)
    assert "rate limit   none: as fast as the gateway answers" in unlimited
    assert "The stopped process sent at up to 87.0 msg/s." in unlimited
    flagged = replace(
        settings,
        rate_limit=20.0,
        base_url="http://alice:pw@gw.example",
        sources={"rate_limit": "flag"},
    )
    text = settings_lines(flagged, None)
    assert "rate limit   20 msg/s  (flag)" in text
    assert "pw@" not in text and "stopped process" not in text


async def test_r_clears_the_store_wide_credentials_stop_without_a_sender_here(
    make_app: AppFactory, store: Store
) -> None:
    """A view-only UI beside a stopped daemon: r lifts the store's flag, as `sender resume` does."""
    from notifier_tui.core.store import control as store_control

    control = store_control.for_store(store)
    assert control.stop_for_credentials("HTTP 401", "daemon pid 7 on srv")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "credentials rejected" in header_text(app))
        assert app.sender is None
        await pilot.press("r")
        await wait_for(pilot, lambda: control.credentials_stop() is None)
        await wait_for(pilot, lambda: "credentials rejected" not in header_text(app))
        # Nothing to lift any more: r does nothing (and says nothing).
        assert not app.may_resume()


def test_a_closed_terminal_is_noticed_without_reading_it() -> None:
    """POLLHUP, not a read: the check never takes a keystroke or spins on EOF."""
    master, slave = pty.openpty()
    try:
        assert not terminal_hung_up(slave)
        os.write(master, b"x")  # a pending key is not a hang-up
        assert not terminal_hung_up(slave)
        os.close(master)
        assert terminal_hung_up(slave)
    finally:
        os.close(slave)


async def test_bridge_coalesces_thousands_of_sends_into_a_few_messages() -> None:
    posted: list[object] = []
    bridge = SenderBridge(posted.append, interval=0.05)
    bridge.bind(asyncio.get_running_loop())
    for i in range(5000):
        bridge(ev.MessageSent(i, 1 + i % 2, 0.01))
    bridge(ev.RetryScheduled(9, 3, 1, 0.5, "HTTP 500"))
    bridge(ev.SenderError("dispatch", "boom"))
    await asyncio.sleep(0.2)
    activity = [m for m in posted if isinstance(m, SenderActivity)]
    assert 1 <= len(activity) <= 2
    assert sum(a.sent for a in activity) == 5000
    assert sum(a.retries for a in activity) == 1
    assert set().union(*(a.mailing_ids for a in activity)) == {1, 2, 3}
    # Rare events go through one by one, at once.
    [event] = [m for m in posted if isinstance(m, SenderEvent)]
    assert isinstance(event.event, ev.SenderError)


def snapshot(**changes: object) -> ev.SenderSnapshot:
    base = ev.SenderSnapshot(
        at=T0,
        sending=True,
        holder=None,
        health=ev.GatewayHealth.OK,
        breaker=ev.BreakerState.CLOSED,
        next_probe_at=None,
        in_flight=0,
        rate=0.0,
        latency_p50=None,
        latency_p95=None,
        error_rate=0.0,
        sent_total=0,
        failed_total=0,
        retries_total=0,
        credentials_error=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("snap", "has_sender", "takeover", "health", "sending"),
    [
        (snapshot(), True, False, "gateway: ok", "sending: this process"),
        (snapshot(health=ev.GatewayHealth.DEGRADED), True, False, "gateway: degraded", None),
        (snapshot(health=ev.GatewayHealth.DOWN), True, False, "gateway: down", None),
        (
            snapshot(
                health=ev.GatewayHealth.DOWN, gateway_problem="unreachable: name not resolved"
            ),
            True,
            False,
            "gateway: unreachable: name not resolved",
            None,
        ),
        (
            snapshot(health=ev.GatewayHealth.DEGRADED, gateway_problem="failing: HTTP 503"),
            True,
            False,
            "gateway: degraded, failing: HTTP 503",
            None,
        ),
        (
            snapshot(health=ev.GatewayHealth.CREDENTIALS, credentials_error="HTTP 401"),
            True,
            False,
            "gateway: credentials rejected",
            "paused: token rejected",
        ),
        (
            snapshot(health=ev.GatewayHealth.NOT_CONFIGURED),
            True,
            False,
            "gateway: not configured",
            None,
        ),
        (
            snapshot(sending=False, holder="daemon pid 7 on srv", health=ev.GatewayHealth.UNKNOWN),
            True,
            False,
            "gateway: n/a here",
            "sending: daemon pid 7 on srv",
        ),
        (
            snapshot(sending=False, holder="daemon pid 7 on srv"),
            True,
            True,
            None,
            "sending: nobody (t: take over)",
        ),
        (snapshot(sending=False), False, False, None, "sending: nobody (view only)"),
    ],
)
def test_header_words(
    snap: ev.SenderSnapshot,
    has_sender: bool,
    takeover: bool,
    health: str | None,
    sending: str | None,
) -> None:
    if health is not None:
        assert health_text(snap).plain == health
    if sending is not None:
        assert sending_text(snap, has_sender=has_sender, takeover=takeover).plain == sending


# --- the tab bar, help, palette, screenshots, the display timezone -------------------


async def test_the_tab_bar_names_the_screens_highlights_one_and_switches_on_click(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tabs = app.screen.query_one("#status-tabs", Static)
        line = tabs_text(app.current_mode)
        assert str(tabs.render()) == line.plain
        assert line.plain.split() == ["1", "Clients", "2", "Mailings", "3", "Stats", "4", "Log"]
        reversed_text = "".join(
            line.plain[span.start : span.end] for span in line.spans if "reverse" in str(span.style)
        )
        assert "Clients" in reversed_text and "Mailings" not in reversed_text
        await pilot.click("#status-tabs", offset=(line.plain.index("Stats") + 1, 0))
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        assert "Stats" in screen_text(app).splitlines()[0]


async def test_while_a_field_has_focus_the_header_says_digits_type_text(
    make_app: AppFactory,
) -> None:
    from notifier_tui.ui.widgets.header import TYPING_HINT

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        clock = app.screen.query_one("#status-clock", Static)
        assert TYPING_HINT not in str(clock.render())
        await go(pilot, "slash")
        assert TYPING_HINT in str(clock.render())
        assert TYPING_HINT in screen_text(app).splitlines()[0]  # visible at 80 columns
        await go(pilot, "2")
        assert isinstance(app.screen, ClientsScreen), "the digit went into the search"
        assert app.screen.query_one("#search", Input).value == "2"
        await go(pilot, "escape")
        await wait_for(pilot, lambda: TYPING_HINT not in str(clock.render()))


async def test_question_mark_lists_every_key(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = screen_text(app)
        for words in ("Every table", "Mailing details", "show failed messages", "Import"):
            assert words in help_text, words
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)


async def test_the_palette_offers_the_screens_actions(make_app: AppFactory, store: Store) -> None:
    add_clients(store, 1)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Clients: New", "Clients: Import", "Clients: Delete", "Mailings screen"} <= set(
            titles
        )
        app.call_later(titles["Clients: New"].callback)
        await settle(pilot)
        assert isinstance(app.screen, ClientForm)


async def test_on_mailings_the_palette_pauses_the_selected_mailing(
    make_app: AppFactory, store: Store
) -> None:
    add_clients(store, 1)
    mailing = store.create_mailing(T0 - timedelta(minutes=1), T0 + timedelta(hours=1), "Hi")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "2")
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        pause = next(t for t in titles if t.startswith("Mailings: Pause"))
        assert {"Mailings: New", "Clients screen", "Stats screen"} <= set(titles)
        app.call_later(titles[pause].callback)
        await wait_for(pilot, lambda: store.get_mailing(mailing.id).paused)


async def test_a_screenshot_goes_to_the_data_dir_and_says_where(
    make_app: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFIER_DATA_DIR", str(tmp_path / "data"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        [command] = [c for c in app.get_system_commands(app.screen) if c.title == "Screenshot"]
        command.callback()
        shots = tmp_path / "data" / "screenshots"
        await wait_for(pilot, lambda: any(shots.glob("*.svg")))
        await wait_for(pilot, lambda: any(str(shots) in n for n in notices(app)))
    [svg] = shots.glob("*.svg")
    assert svg.read_text(encoding="utf-8").startswith("<svg")


async def test_a_screenshot_that_cannot_be_saved_says_where_and_why_and_is_logged(
    make_app: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    target = str(blocker / "screenshots")  # under a file: no one can create it, root included
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        with caplog.at_level(logging.ERROR, logger="notifier_tui.ui"):
            app.deliver_screenshot(path=target)
            await wait_for(pilot, lambda: any(target in n for n in notices(app)))
        assert any(target in r.getMessage() for r in caplog.records)
    assert not blocker.is_dir()


async def test_one_display_timezone_everywhere_and_labelled(
    make_app: AppFactory, store: Store, settings: Settings
) -> None:
    add_clients(store, 2)
    store.create_mailing(T0 - timedelta(minutes=5), T0 + timedelta(hours=1), "Hi")
    store.materialize_due(T0)
    ring = LogRing()
    ring.lines.append("2026-12-01 13:00:01,000 INFO    notifier_tui.ui: hello")
    # Clients default to Moscow; the user reads times in Vladivostok (UTC+10).
    app = make_app(settings=replace(settings, display_timezone="Asia/Vladivostok"), log_ring=ring)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "20:00:00 +10" in header_text(app)
        await go(pilot, "2")
        text = screen_text(app)
        assert "start +10" in text and "12-01 19:55" in text
        await go(pilot, "enter")
        text = screen_text(app)
        assert "created +10" in text and "12-01 19:55–21:00 +10" in text
        await go(pilot, "escape", "e")
        form_text = screen_text(app)
        assert "times in +10" in form_text
        assert app.screen.query_one("#start_at", Input).value == "2026-12-01 19:55"
        await go(pilot, "escape", "4")
        # Written at 13:00:01 in Moscow (the test's log zone): 20:00:01 in Vladivostok.
        assert "20:00:01 INFO    ui: hello" in screen_text(app)
        assert "times in +10" in screen_text(app)
