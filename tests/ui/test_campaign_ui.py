"""Issue 13 in the UI: the form's live projection and segments, the details' ETA, clone,
test send and export, the stop-list screen and the audit trail.

The real app on a real store file (``make_app``), the gateway simulator on
127.0.0.1 for test sends, and a clock that stands still unless a test moves it.
"""

from __future__ import annotations

import csv
import threading
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from notifier_tui.core.audit import Actor, Surface
from notifier_tui.core.events import SenderSnapshot
from notifier_tui.core.secret import Secret
from notifier_tui.core.standby import StandbyFigures
from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings
from notifier_tui.sim import ThreadedSimulator
from notifier_tui.ui.dialogs.clone import CloneDialog
from notifier_tui.ui.dialogs.confirm import ConfirmDialog
from notifier_tui.ui.dialogs.mailing_form import MailingForm
from notifier_tui.ui.dialogs.test_send import TestSendDialog
from notifier_tui.ui.screens import mailing_detail as detail_module
from notifier_tui.ui.screens.audit import AuditScreen, parse_filter
from notifier_tui.ui.screens.mailing_detail import MailingDetailScreen
from notifier_tui.ui.screens.stoplist import StopListScreen
from notifier_tui.ui.widgets.live_table import LiveTable
from notifier_tui.ui.widgets.projection import ProjectionView, projection_text, sparkline
from tests import waits
from tests.ui.conftest import (
    SIZE,
    T0,
    AppFactory,
    FakeClock,
    fill,
    form_errors,
    go,
    notices,
    phone,
    screen_text,
    settle,
    wait_for,
)
from tests.ui.stats_harness import seed, snapshot

pytestmark = pytest.mark.timeout(60)

DEBOUNCE = 0.4
"""A little more than the form's debounce (0.3 s)."""
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


def zoned_clients(store: Store) -> None:
    """30 clients in Moscow (13:00 at T0), 20 in Vladivostok (20:00), 5 in New York (05:00)."""
    zones = ["Europe/Moscow"] * 30 + ["Asia/Vladivostok"] * 20 + ["America/New_York"] * 5
    store.import_rows(
        [(i + 2, {"phone": phone(i), "tag": "vip", "timezone": tz}) for i, tz in enumerate(zones)]
    )


@pytest.fixture
def fixed_live(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> SenderSnapshot:
    """Pin the app's standby reader (no sender here) to one snapshot, for snapshots."""
    figures = snapshot(clock.now)
    monkeypatch.setattr(StandbyFigures, "read", lambda *_args, **_kwargs: figures)
    return figures


@pytest.fixture
def slow_rate(settings: Settings) -> Settings:
    """A rate limit so low that an hour's span cannot hold the audience."""
    return replace(settings, rate_limit=0.01)


# --- 1. the mailing form ------------------------------------------------------------


async def test_form_projects_the_draft_live_as_the_user_types(
    make_app: AppFactory, store: Store, slow_rate: Settings
) -> None:
    zoned_clients(store)
    store.stoplist_add([phone(1)])
    app = make_app(settings=slow_rate)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "n")
        await settle(pilot)
        assert isinstance(app.screen, MailingForm)
        # No window: everybody is reachable; 0.01/s for an hour is 36 messages, 18 miss.
        assert text_of(pilot, "#audience") == "Will send to 54 clients (matching now)"
        projection = text_of(pilot, "#projection")
        assert "54 of 54 in their window before the end · 1 stop-listed left out" in projection
        assert "18 will miss the end (at 0.01/s, the rate limit)" in projection

        # A window: New York (05:00) opens at 17:00 Moscow time, after the end.
        fill(pilot, window="09:00-21:00")
        await pilot.pause(DEBOUNCE)
        await settle(pilot)
        assert "49 of 54 in their window before the end" in text_of(pilot, "#projection")

        # A longer span at the same rate: all in; the finish is a time in the display zone.
        fill(pilot, end_at="+3d", window="")
        await pilot.pause(DEBOUNCE)
        await settle(pilot)
        view = app.screen.query_one("#projection", ProjectionView)
        assert view.preview is not None and view.preview.projection.will_miss == 0
        finish = view.preview.projection.finish_at
        assert finish is not None
        # 54 messages at 0.01/s from 13:00 MSK take 5,400 s.
        assert finish == T0 + timedelta(seconds=5400)
        assert "Finish ≈ 14:30:00 MSK (at 0.01/s, the rate limit) · 0 will miss" in (
            text_of(pilot, "#projection")
        )

        # A broken field: no read, a line saying what to fix.
        fill(pilot, window="9 to 5")
        await pilot.pause(DEBOUNCE)
        await settle(pilot)
        assert text_of(pilot, "#projection") == "Projection: fix Send window to see it"


async def test_form_counts_segments_as_the_operator_bills_them(
    make_app: AppFactory, store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "n")
        await settle(pilot)
        assert text_of(pilot, "#segments") == ""
        fill(pilot, text="x" * 160)
        await pilot.pause()
        assert text_of(pilot, "#segments") == "1 segment, GSM-7, 0 characters left in this one"
        fill(pilot, text="x" * 161)
        await pilot.pause()
        assert text_of(pilot, "#segments") == "2 segments, GSM-7, 145 characters left in this one"
        # Cyrillic is UCS-2: 67 per part once split, 80 characters leave 54 free.
        fill(pilot, text="я" * 80)
        await pilot.pause()
        assert text_of(pilot, "#segments") == "2 segments, UCS-2, 54 characters left in this one"


async def test_form_reads_one_projection_at_a_time(
    make_app: AppFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    zoned_clients(store)
    calls: list[list[str]] = []
    gate = threading.Event()
    real = store.preview_draft

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(sorted(kwargs.get("tags") or ()))
        if len(calls) == 2:
            gate.wait(5)  # a slow read: changes made meanwhile must not queue reads
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "preview_draft", counted)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "n")
        await settle(pilot)
        assert len(calls) == 1
        # Typing faster than the debounce: one read for the lot, of the last value.
        for value in ("v", "vi", "vip"):
            fill(pilot, tag=value)  # no pause between: each restarts the debounce
        await waits.until(lambda: len(calls) >= 2, timeout=10, what="the debounced read")
        await pilot.pause(DEBOUNCE)
        assert calls[1:] == [["vip"]]
        # While that read is slow, two more debounced changes: one follow-up, the latest.
        fill(pilot, tag="vip, a")
        await pilot.pause(DEBOUNCE)
        fill(pilot, tag="vip, b")
        await pilot.pause(DEBOUNCE)
        assert len(calls) == 2
        gate.set()
        await settle(pilot)
        assert calls[2:] == [["b", "vip"]]


def test_projection_words_a_started_mailing_and_its_histogram(store: Store) -> None:
    zoned_clients(store)
    preview = store.preview_draft(T0, T0 + timedelta(days=1), window="09:00-21:00", rate_limit=None)
    text = projection_text(preview, T0, UTC, started=True)
    lines = text.plain.splitlines()
    assert lines[0] == "55 of 55 left to send in their window before the end"
    # No rate: the earliest finish is when New York's window opens, 14:00 UTC.
    assert lines[1].startswith("ETA ≈ 14:00:00 UTC (no rate known")
    # Moscow and Vladivostok open now, New York in 4 hours.
    assert lines[2] == "windows open " + sparkline(preview.projection.window_opens).plain + (
        " over the next 24 h, by hour"
    )
    assert preview.projection.window_opens[:5] == (50, 0, 0, 0, 5)
    assert sparkline([0, 1, 8]).plain == "·▁█"


# --- 2. mailing details: ETA live, resend to the not sent, test send, export -----------


async def open_detail(pilot: Pilot[Any], mailing_id: int) -> MailingDetailScreen:
    await settle(pilot)
    screen = MailingDetailScreen(mailing_id)
    await pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


async def test_details_show_the_eta_and_the_misses_live(
    make_app: AppFactory,
    store: Store,
    clock: FakeClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(detail_module, "PROJECTION_SECONDS", 0.1)
    ids = seed(store, clock.now)
    app = make_app(settings=replace(settings, rate_limit=0.01))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, ids["vip"])
        line = screen.query_one("#detail-projection", ProjectionView)
        # 14 pending; the end is 8 h away and 0.01/s sends 288 by then.
        assert str(line.render()).startswith("ETA ≈ 13:23:20 MSK · 0 will miss the end")
        # Paused: the same figures, saying what they assume.
        await store.run(store.pause_mailing, ids["vip"])
        await wait_for(pilot, lambda: str(line.render()).startswith("Paused; if resumed now: ETA"))
        await store.run(store.resume_mailing, ids["vip"])
        # 7 h 59 min later the same 14 no longer fit in the one minute left: live, no key.
        clock.advance(hours=7, minutes=59)
        await wait_for(
            pilot,
            lambda: "will miss the end" in str(line.render()) and "ETA" not in str(line.render()),
        )
        assert str(line.render()).startswith("14 will miss the end")
        # A finished mailing says so instead.
        clock.advance(hours=1)
        await wait_for(pilot, lambda: "nothing more will be sent" in str(line.render()))


async def test_new_mailing_for_the_not_sent(
    make_app: AppFactory, store: Store, clock: FakeClock
) -> None:
    ids = seed(store, clock.now)
    failed = {
        m.client_id for m in store.mailing_stats(ids["sale"], status="failed", limit=100).messages
    }
    assert len(failed) == 6
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, ids["sale"])
        assert "n: new mailing for the 6 not sent" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, CloneDialog)
        assert "New mailing for the 6 not sent of mailing #1" in screen_text(app)
        fill(pilot, start_at="+1h", end_at="+10m")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert form_errors(pilot) == {"end_at": "must be after Start"}
        fill(pilot, end_at="+3h", text="Second try: 20% off")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert any("created for the 6 clients not sent" in n for n in notices(app))
    new = max(store.list_mailings(), key=lambda m: m.id)
    assert new.text == "Second try: 20% off"
    assert new.start_at == clock.now + timedelta(hours=1)
    assert set(store.explicit_clients(new.id)) == failed
    # The original's messages are as they were.
    assert store.mailing_stats(ids["sale"], limit=0).by_status["failed"] == 6


async def test_nothing_to_resend_says_so(
    make_app: AppFactory, store: Store, clock: FakeClock
) -> None:
    ids = seed(store, clock.now)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, ids["vip"])
        assert "new mailing for the" not in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen
        assert "Nothing to resend: no failed, expired or cancelled messages." in notices(app)


def counts(store: Store, mailing_id: int) -> dict[str, int]:
    return dict(store.mailing_stats(mailing_id, limit=0).by_status)


async def send_test(pilot: Pilot[Any], number: str, *keys: str) -> str:
    """Open the test send, send to ``number`` (pressing ``keys``), and return the outcome line."""
    await pilot.press("T")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TestSendDialog)
    fill(pilot, phone=number)
    await pilot.press(*(keys or ("enter",)))
    await settle(pilot)
    return text_of(pilot, "#test-outcome")


async def test_test_send_through_the_simulator(
    make_app: AppFactory,
    store: Store,
    clock: FakeClock,
    settings: Settings,
    threaded_simulator: ThreadedSimulator,
) -> None:
    ids = seed(store, clock.now)
    before = counts(store, ids["sale"])
    url = threaded_simulator.base_url
    configured = replace(settings, base_url=url, token=Secret("secret-token-value"))
    app = make_app(settings=configured)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, ids["sale"])
        # Enter twice while the gateway is slow to answer: one send, not a second one
        # cutting the first short (its audit row would be lost).
        threaded_simulator.simulator.config.latency_ms = 300
        line = await send_test(pilot, "89001112233", "enter", "enter")
        assert line.startswith("outcome accepted  gateway: HTTP 200")
        assert "to 79001112233" in line
        threaded_simulator.simulator.config.latency_ms = 0
        dialog = pilot.app.screen
        assert isinstance(dialog, TestSendDialog) and dialog.trial is not None
        assert threaded_simulator.simulator.accepted[dialog.trial.msg_id] == 1
        # A bad phone is refused under the field, nothing sent.
        fill(pilot, phone="12")
        await pilot.press("enter")
        await settle(pilot)
        assert "phone" in form_errors(pilot)
        assert sum(threaded_simulator.simulator.accepted.values()) == 1
    assert counts(store, ids["sale"]) == before  # never counted in the mailing's statistics
    tests = [e for e in store.audit_entries(mailing_id=ids["sale"]) if "test" in e.action]
    assert len(tests) == 1
    entry = tests[0]
    assert (entry.action, entry.surface, entry.change["outcome"]) == (
        "mailing.test_send",
        "ui",
        "accepted",
    )
    assert "secret-token-value" not in str(entry.to_json())


async def test_test_send_problems_are_one_line(
    make_app: AppFactory,
    store: Store,
    clock: FakeClock,
    settings: Settings,
    threaded_simulator: ThreadedSimulator,
) -> None:
    ids = seed(store, clock.now)
    url = threaded_simulator.base_url
    threaded_simulator.simulator.config.token = "the-right-one"
    cases = [
        (replace(settings, base_url=url), "No gateway token set: give --token-file PATH"),
        (
            replace(settings, base_url=url, token=Secret("a-wrong-one")),
            "The gateway refused the token (HTTP 401",
        ),
        (
            replace(
                settings, base_url="http://u:pw@127.0.0.1:9/v1", token=Secret("x"), timeout=2.0
            ),
            "Cannot reach http://***@127.0.0.1:9/v1 (",
        ),
    ]
    for configured, expected in cases:
        app = make_app(settings=configured)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, ids["sale"])
            line = await send_test(pilot, phone(1))
            assert line.startswith(expected), line
            assert "\n" not in line.strip() and "a-wrong-one" not in line and "pw" not in line


async def test_export_writes_every_message_and_says_where(
    make_app: AppFactory,
    store: Store,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFIER_DATA_DIR", str(tmp_path / "data"))
    ids = seed(store, clock.now)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, ids["sale"])
        await pilot.press("e")
        await settle(pilot)
        path = tmp_path / "data" / "exports" / "mailing-1-20261201-130000.csv"
        assert f"Exported 40 messages of mailing #1 to {path}" in notices(app)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40
    assert sum(row["status"] == "failed" for row in rows) == 6


# --- 3. the stop list ----------------------------------------------------------------


async def open_stoplist(pilot: Pilot[Any]) -> StopListScreen:
    await settle(pilot)
    await pilot.press("o")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, StopListScreen)
    return screen


def listed(screen: StopListScreen) -> list[str]:
    table = screen.query_one(LiveTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def test_stop_list_add_remove_and_import(
    make_app: AppFactory, store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    ids = seed(store, clock.now)
    pending = store.mailing_stats(ids["vip"], status="pending", limit=100).messages
    vip_phone = pending[0].phone
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_stoplist(pilot)
        assert listed(screen) == []
        assert "0 phones on the stop list" in screen_text(app)

        # Add: two new phones (one typed with an 8), one twice; the vip one has a pending message.
        await pilot.press("a")
        fill(pilot, **{"stop-add": f"{vip_phone}, 89000000100 79000000100"})
        await pilot.press("enter")
        await settle(pilot)
        assert listed(screen) == sorted([vip_phone, "79000000100"])
        assert text_of(pilot, "#stop-result") == (
            "Stop-listed 2 phones; 1 pending message cancelled."
        )
        [cancelled] = [
            m for m in store.mailing_stats(ids["vip"], limit=100).messages if m.phone == vip_phone
        ]
        assert cancelled.status == "cancelled"

        # A bad phone: nothing is added, the field keeps what was typed.
        fill(pilot, **{"stop-add": "79000000200, 12"})
        await pilot.press("enter")
        await settle(pilot)
        assert text_of(pilot, "#stop-result").startswith("Nothing added: ")
        assert not store.is_stop_listed("79000000200")

        # Import: one bad row and none is added; then a good file.
        bad = tmp_path / "bad.csv"
        bad.write_text("phone\n79000000300\nnot-a-phone\n")
        good = tmp_path / "optouts.csv"
        good.write_text("phone\n79000000300\n79000000100\n")
        await pilot.press("escape", "i")
        fill(pilot, **{"stop-import": str(bad)})
        await pilot.press("enter")
        await settle(pilot)
        assert text_of(pilot, "#stop-result").startswith("Nothing imported: 1 bad row(s): line 3")
        fill(pilot, **{"stop-import": str(tmp_path / "missing.csv")})
        await pilot.press("enter")
        await settle(pilot)
        assert text_of(pilot, "#stop-result").startswith("Nothing imported: file: cannot read")
        fill(pilot, **{"stop-import": str(good)})
        await pilot.press("enter")
        await settle(pilot)
        assert text_of(pilot, "#stop-result") == (
            "From optouts.csv: stop-listed 1 phone; 1 already listed."
        )
        assert "79000000300" in listed(screen)

        # Remove the vip phone: after a yes, its message of the live mailing comes back.
        await pilot.press("escape")
        screen.query_one(LiveTable).move_cursor(row=listed(screen).index(vip_phone))
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert vip_phone not in listed(screen)
        assert text_of(pilot, "#stop-result") == ("Removed 1 phone; 1 pending message given back.")
        # Escape goes back to where the list was opened from.
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, StopListScreen)
    actions = [e.action for e in store.audit_entries()]
    assert actions[-3:] == ["stoplist.add", "stoplist.import", "stoplist.remove"]
    assert {e.surface for e in store.audit_entries() if e.action.startswith("stoplist")} == {"ui"}


async def test_help_lists_the_campaign_keys(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 110)) as pilot:  # tall enough for the whole page
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        for words in (
            "o  Stop list (opt-outs)",
            "n  New mailing for the not sent",
            "T  Test send to one phone",
            "e  Export every message to CSV",
            "A  Audit trail of this mailing",
            "show failed messages",
            "a  Audit trail",
            "Stop list (o)",
            "i  Import CSV",
        ):
            assert words in text, words


@pytest.mark.parametrize("size", SIZES)
def test_stoplist_screen_snapshot(
    snap_compare: Any,
    make_app: AppFactory,
    store: Store,
    clock: FakeClock,
    fixed_live: Any,
    size: Any,
) -> None:
    seed(store, clock.now)
    store.stoplist_add([phone(5), phone(7), "79161234567"])

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "o")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


# --- 4. the audit trail ------------------------------------------------------------


def acted(store: Store) -> dict[str, int]:
    """A few actions from two surfaces by a fixed operator (the machine's names would vary)."""
    store.audit.actor = Actor("anna", "ops-1", Surface.UI)
    ids = seed(store, T0)
    store.stoplist_add([phone(5)])
    store.update_mailing(ids["sale"], text="Spring sale: 25% off")
    store.surface = "cli"
    store.pause_mailing(ids["vip"])
    store.surface = "ui"
    return ids


async def open_audit(pilot: Pilot[Any]) -> AuditScreen:
    await go(pilot, "4", "a")
    screen = pilot.app.screen
    assert isinstance(screen, AuditScreen)
    return screen


async def test_audit_screen_shows_who_did_what(make_app: AppFactory, store: Store) -> None:
    ids = acted(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        table = screen.query_one(LiveTable)
        newest = [str(c) for c in table.get_row_at(0)]
        assert newest[2:6] == ["anna@ops-1", "cli", "mailing.pause", f"mailing #{ids['vip']}"]
        assert newest[6] == "paused: false -> true"
        edit = [str(c) for c in table.get_row_at(1)]
        assert edit[3:5] == ["ui", "mailing.update"]
        # The table cuts the change; the line under it shows the highlighted one whole.
        await pilot.press("down")
        await settle(pilot)
        assert (
            'text: "Spring sale: 20% off [everything] until Friday!" -> "Spring sale: 25% off"'
            in text_of(pilot, "#audit-selected")
        )
        total = len(screen.entries)
        assert f"{total} actions" in text_of(pilot, "#audit-status")

        # mailing=ID reads that mailing's history; words narrow it.
        await pilot.press("slash")
        fill(pilot, **{"audit-filter": f"mailing={ids['sale']}"})
        await settle(pilot)
        assert [e.action for e in screen.entries] == ["mailing.update", "mailing.create"]
        fill(pilot, **{"audit-filter": "stoplist"})
        await settle(pilot)
        assert [e.action for e in screen.entries] == ["stoplist.add"]
        assert screen.entries[0].change["phones"] == [phone(5)]

        # Live: an action anywhere (here the UI's own store) shows without a key.
        fill(pilot, **{"audit-filter": ""})
        await settle(pilot)
        await store.run(store.stoplist_add, [phone(9)])
        await wait_for(pilot, lambda: len(screen.entries) == total + 1)
        assert screen.entries[0].action == "stoplist.add"
        # escape clears a filter, then goes back to the log.
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, AuditScreen)


def test_audit_filter_words_and_mailing() -> None:
    assert parse_filter("mailing=12 Pause") == (12, ["pause"])
    assert parse_filter("mailing=#3") == (3, [])
    assert parse_filter("mailing=x") == (None, ["mailing=x"])


@pytest.mark.parametrize("size", SIZES)
def test_audit_screen_snapshot(
    snap_compare: Any,
    make_app: AppFactory,
    store: Store,
    fixed_live: Any,
    size: Any,
) -> None:
    acted(store)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "4", "a")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


async def test_details_open_the_mailings_audit_trail(make_app: AppFactory, store: Store) -> None:
    ids = acted(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, ids["sale"])
        await pilot.press("A")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        assert [e.action for e in screen.entries] == ["mailing.update", "mailing.create"]
        assert f"filter: mailing={ids['sale']}" in text_of(pilot, "#audit-status")
        # escape clears the filter first (every action shows), then goes back.
        await pilot.press("escape")
        await settle(pilot)
        assert len(screen.entries) > 2
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MailingDetailScreen)
