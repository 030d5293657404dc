"""The statistics screens: the overall table, a mailing's detail, the live panel.

A real SQLite store in ``tmp_path`` and a clock that never moves; data is
written through the store as the sender would, then the screen's ``reload``
is awaited so every assertion sees a finished read. Most tests run the
screens in :class:`StatsTestApp` (only what the screens need of the app, so
a test controls the live snapshot); the last ones run the real app.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets.data_table import RowKey

from notifier_tui.core.events import BreakerState
from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from notifier_tui.ui.messages import StoreChanged
from notifier_tui.ui.screens import mailing_detail
from notifier_tui.ui.screens.mailing_detail import MailingDetailScreen
from notifier_tui.ui.screens.stats import StatsScreen
from notifier_tui.ui.widgets.live_panel import LivePanel
from notifier_tui.ui.widgets.live_table import LiveTable
from tests.ui.conftest import AppFactory, cell, screen_text, settle, wait_for
from tests.ui.stats_harness import T0, FakeClock, StatsTestApp, seed, snapshot


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    s = Store(tmp_path / "store.db", clock=clock, default_timezone="Europe/Moscow")
    yield s
    s.close()


@pytest.fixture
def ids(store: Store) -> dict[str, int]:
    return seed(store)


async def stats_screen(pilot: Pilot[None]) -> StatsScreen:
    screen = pilot.app.screen
    assert isinstance(screen, StatsScreen)
    await screen.reload()
    await pilot.pause()
    return screen


async def detail_screen(pilot: Pilot[None]) -> MailingDetailScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MailingDetailScreen)
    await screen.reload()
    await pilot.pause()
    return screen


def send_one(store: Store, mailing_id: int, status: str = "sent") -> int:
    """Claim every due message, give one of ``mailing_id`` ``status``, hand the rest back."""
    claims = store.claim_due(T0, limit=1000)
    chosen = next(c for c in claims if c.mailing_id == mailing_id)
    outcomes = [
        Outcome(chosen.id, status, sent_at=T0 if status == "sent" else None),
        *(Outcome(c.id, "pending", charge=False) for c in claims if c is not chosen),
    ]
    store.record_outcomes(outcomes)
    return chosen.id


# --- the overall table -------------------------------------------------------------


async def test_table_shows_every_mailing_with_its_counts(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stats_screen(pilot)
        table = screen.query_one(LiveTable)
        # Newest start first, like the store lists them.
        assert table.row_keys() == [str(ids["tomorrow"]), str(ids["vip"]), str(ids["sale"])]
        sale = ids["sale"]
        assert cell(table, sale, "state") == "active"
        assert [cell(table, sale, c) for c in ("total", "pending", "sending", "sent")] == [
            "40",
            "13",
            "0",
            "21",
        ]
        assert [cell(table, sale, c) for c in ("failed", "expired", "cancelled")] == ["6", "0", "0"]
        assert cell(table, ids["vip"], "pending") == "14"
        assert cell(table, ids["tomorrow"], "state") == "scheduled"
        assert cell(table, ids["tomorrow"], "total") == "0"
        # Markup-looking text is shown as typed, not parsed.
        assert cell(table, sale, "text").startswith("Spring sale: 20% off [everything]")
        text = screen_text(app)
        assert "total 54 │ pending 27 sending 0 sent 21 failed 6 expired 0 cancelled 0" in text
        assert "3 mailings" in text


async def test_refresh_updates_cells_in_place_and_keeps_the_cursor(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stats_screen(pilot)
        table = screen.query_one(LiveTable)
        table.clear = _forbidden  # type: ignore[method-assign]
        keys_before = list(table.rows)
        await pilot.press("down")  # onto "vip"
        assert table.cursor_key == str(ids["vip"])

        send_one(store, ids["vip"])
        await screen.reload()
        await pilot.pause()

        assert list(table.rows) == keys_before
        assert cell(table, ids["vip"], "sent") == "1"
        assert cell(table, ids["vip"], "pending") == "13"
        assert table.cursor_key == str(ids["vip"])

        # A new mailing starting later than all comes first; the cursor stays on "vip".
        new = store.create_mailing(T0 + timedelta(days=3), T0 + timedelta(days=4), "Later")
        await screen.reload()
        await pilot.pause()
        assert table.row_keys()[0] == str(new.id)
        assert table.cursor_key == str(ids["vip"])
        assert table.cursor_row == 2

        # A deleted mailing's row goes; the others stay where they were.
        store.delete_mailing(ids["tomorrow"])
        await screen.reload()
        await pilot.pause()
        assert table.row_keys() == [str(new.id), str(ids["vip"]), str(ids["sale"])]
        assert table.cursor_key == str(ids["vip"])


def _forbidden(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("a live table is diffed by row key, never cleared")


async def test_unchanged_data_changes_nothing(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stats_screen(pilot)
        table = screen.query_one(LiveTable)
        syncs = table.sync_count
        await screen.reload()
        assert table.sync_count == syncs


async def test_a_write_from_this_process_refreshes_at_once(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stats_screen(pilot)
        send_one(store, ids["vip"], "failed")
        screen.post_message(StoreChanged())
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cell(screen.query_one(LiveTable), ids["vip"], "failed") == "1"


async def test_the_timer_refreshes_without_help(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stats_screen(pilot)
        send_one(store, ids["sale"])
        await pilot.pause(1.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cell(screen.query_one(LiveTable), ids["sale"], "sent") == "22"


async def test_a_failing_read_is_notified_once(
    store: Store, clock: FakeClock, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stats_screen(pilot)

        def broken() -> None:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(store, "overall_stats", broken)
        for _ in range(3):
            screen._tick()
            await app.workers.wait_for_complete()
            await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert messages == ["Cannot read the statistics: disk on fire"]


# --- the detail ----------------------------------------------------------------------


async def test_enter_opens_the_detail_and_escape_returns(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        await pilot.press("down", "down", "enter")  # the sale
        detail = await detail_screen(pilot)
        assert detail.mailing_id == ids["sale"]
        table = detail.query_one(LiveTable)
        assert table.row_count == 40
        text = screen_text(app)
        assert f"Mailing #{ids['sale']} active" in text
        assert "all 40  pending 13  sending 0  sent 21  failed 6  expired 0  cancelled 0" in text
        assert "1–40 of 40 messages" in text

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StatsScreen)
        assert app.screen.query_one(LiveTable).cursor_key == str(ids["sale"])


async def test_status_keys_filter_the_messages(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.push_screen(MailingDetailScreen(ids["sale"]))
        detail = await detail_screen(pilot)
        table = detail.query_one(LiveTable)

        for key, status, count in (("f", "failed", 6), ("s", "sent", 21), ("p", "pending", 13)):
            await pilot.press(key)
            await detail.reload()
            await pilot.pause()
            assert detail.status == status
            assert table.row_count == count
            assert {cell(table, k, "status") for k in table.row_keys()} == {status}
            assert f"1–{count} of {count} {status} messages" in screen_text(app)

        await pilot.press("x")
        await detail.reload()
        await pilot.pause()
        assert table.row_count == 0
        assert "No expired messages." in screen_text(app)

        await pilot.press("a")
        await detail.reload()
        await pilot.pause()
        assert table.row_count == 40


async def test_a_click_on_a_status_filters_too(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.push_screen(MailingDetailScreen(ids["sale"]))
        detail = await detail_screen(pilot)
        filters = next(line for line in screen_text(app).splitlines() if "all 40" in line)
        await pilot.click("#detail-filters", offset=(filters.index("sent 21") + 1, 0))
        await detail.reload()
        await pilot.pause()
        assert detail.status == "sent"
        assert detail.query_one(LiveTable).row_count == 21


async def test_failed_message_shows_its_error_and_times(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.push_screen(MailingDetailScreen(ids["sale"]))
        detail = await detail_screen(pilot)
        table = detail.query_one(LiveTable)
        first = table.row_keys()[0]
        assert cell(table, first, "status") == "failed"
        assert cell(table, first, "error") == "HTTP 400: invalid phone"
        assert cell(table, first, "attempts") == "1"
        # Times are in the display timezone (Moscow, UTC+3).
        assert cell(table, first, "created") == "12:00:00"
        assert "last error: HTTP 400: invalid phone" in screen_text(app)
        sent_row = next(k for k in table.row_keys() if cell(table, k, "status") == "sent")
        assert cell(table, sent_row, "sent").startswith("11:")


async def test_detail_pages_in_sql(
    store: Store, clock: FakeClock, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailing_detail, "PAGE_SIZE", 15)
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.push_screen(MailingDetailScreen(ids["sale"]))
        detail = await detail_screen(pilot)
        table = detail.query_one(LiveTable)
        first_page = table.row_keys()
        assert len(first_page) == 15
        assert "1–15 of 40 messages  page 1/3" in screen_text(app)

        await pilot.press("right_square_bracket")
        await detail.reload()
        await pilot.pause()
        assert len(table.row_keys()) == 15
        assert not set(table.row_keys()) & set(first_page)
        assert "16–30 of 40 messages  page 2/3" in screen_text(app)

        await pilot.press("right_square_bracket", "right_square_bracket")
        await detail.reload()
        await pilot.pause()
        assert "31–40 of 40 messages  page 3/3" in screen_text(app)

        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        await detail.reload()
        await pilot.pause()
        assert table.row_keys() == first_page


async def test_detail_refreshes_a_row_by_key(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.push_screen(MailingDetailScreen(ids["vip"]))
        detail = await detail_screen(pilot)
        table = detail.query_one(LiveTable)
        table.clear = _forbidden  # type: ignore[method-assign]
        keys = table.row_keys()
        sent_id = send_one(store, ids["vip"])
        await detail.reload()
        await pilot.pause()
        assert table.row_keys() == keys
        assert cell(table, sent_id, "status") == "sent"
        assert cell(table, sent_id, "sent") == "12:00:00"


async def test_a_pending_filter_follows_messages_as_they_leave(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.push_screen(MailingDetailScreen(ids["vip"]))
        detail = await detail_screen(pilot)
        await pilot.press("p")
        await detail.reload()
        await pilot.pause()
        table = detail.query_one(LiveTable)
        assert table.row_count == 14
        sent_id = send_one(store, ids["vip"])
        await detail.reload()
        await pilot.pause()
        assert table.row_count == 13
        assert RowKey(str(sent_id)) not in table.rows


async def test_a_deleted_mailing_says_so(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.push_screen(MailingDetailScreen(ids["vip"]))
        detail = await detail_screen(pilot)
        store.delete_mailing(ids["vip"])
        await detail.reload()
        await pilot.pause()
        assert f"Mailing #{ids['vip']} was deleted." in screen_text(app)
        assert detail.query_one(LiveTable).row_count == 0


# --- the live panel -------------------------------------------------------------------


async def test_live_panel_without_data(store: Store, clock: FakeClock, ids: dict[str, int]) -> None:
    app = StatsTestApp(store, clock, snapshot=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        text = screen_text(app)
        assert "no sender data yet" in text
        assert "msg/s" not in text


async def test_live_panel_shows_the_snapshot(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock, snapshot=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await stats_screen(pilot)
        app.snapshot = snapshot()
        await pilot.pause()
        text = screen_text(app)
        assert "no sender data yet" not in text
        assert "42.5 msg/s" in text
        assert "peak 49.0" in text
        assert "p50 120 ms  p95 345 ms" in text
        assert "errors 2.3%" in text
        assert "breaker open, probe in 12 s" in text
        assert "in flight 7  pending 27" in text
        assert "sent 1,234  failed 12  retries 40" in text
        assert "sending: this process" in text
        panel = screen.query_one(LivePanel)
        assert panel.pending == 27


async def test_live_panel_another_sender_and_a_credentials_error(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.snapshot = snapshot(
            sending=False,
            holder="daemon pid 4242 on box",
            breaker=BreakerState.CLOSED,
            latency_p50=None,
            latency_p95=None,
            credentials_error="401 Unauthorized",
        )
        await pilot.pause()
        text = screen_text(app)
        assert "sending: daemon pid 4242 on box" in text
        assert "credentials rejected: 401 Unauthorized" in text
        assert "latency no answers yet" in text
        # No figure on the panel's line (the latency chart's legend says "p50 p95").
        assert "p50 1" not in text and "p50 –" not in text
        assert "probe" not in text


# --- in the real app ------------------------------------------------------------------


async def test_in_the_app_3_shows_stats_enter_the_detail_escape_back(
    make_app: AppFactory, ids: dict[str, int]
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        assert app.screen.query_one(LiveTable).row_count == 3
        # No sender here: the app's standby figures reach the panel.
        await wait_for(pilot, lambda: "sending: nobody" in screen_text(app))

        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MailingDetailScreen)
        assert app.screen.mailing_id == ids["sale"]
        await pilot.press("f")
        await settle(pilot)
        assert app.screen.query_one(LiveTable).row_count == 6

        # The first escape clears the filter, the next goes back.
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MailingDetailScreen)
        assert app.screen.status is None
        assert app.screen.query_one(LiveTable).row_count == 40
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        await pilot.press("2", "3")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)


async def test_a_scheduled_mailing_says_when_its_audience_is_built(
    store: Store, clock: FakeClock, ids: dict[str, int]
) -> None:
    app = StatsTestApp(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await stats_screen(pilot)
        app.push_screen(MailingDetailScreen(ids["tomorrow"]))
        await detail_screen(pilot)
        assert "No messages yet: the audience is built at start, about 40 clients" in screen_text(
            app
        )
