"""The mailings screen: the form and its errors, the audience count, pause/cancel/delete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from notifier_tui.ui.dialogs.confirm import ConfirmDialog
from notifier_tui.ui.dialogs.mailing_form import CommaSuggester, MailingForm
from notifier_tui.ui.screens.mailing_detail import MailingDetailScreen
from notifier_tui.ui.screens.mailings import MailingsScreen, progress_bar
from notifier_tui.ui.widgets.live_table import LiveTable
from tests.ui.conftest import (
    SIZE,
    T0,
    AppFactory,
    add_clients,
    fill,
    form_errors,
    notices,
    screen_text,
    settle,
)

pytestmark = pytest.mark.timeout(60)


def table(pilot: Pilot[Any]) -> DataTable[Any]:
    return pilot.app.screen.query_one("#mailings-table", DataTable)


def rows(pilot: Pilot[Any]) -> list[list[str]]:
    t = table(pilot)
    return [[str(cell) for cell in t.get_row_at(i)] for i in range(t.row_count)]


async def open_mailings(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    assert isinstance(pilot.app.screen, MailingsScreen)


async def test_create_a_mailing(make_app: AppFactory, store: Store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        assert table(pilot).row_count == 0
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, MailingForm)
        fill(
            pilot,
            start_at="2026-12-01 14:00",
            end_at="+3h",
            text="Winter sale",
            operator_code="900, 916",
            tag="vip",
            window="09:00-21:00",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MailingsScreen)
        [row] = rows(pilot)
        # 14:00 Moscow is 11:00 UTC; the end is 3 h after the clock's 10:00 UTC (13:00 MSK).
        assert row[:5] == ["1", "Winter sale", "12-01 14:00", "12-01 16:00", "scheduled"]
    [mailing] = store.list_mailings()
    assert mailing.start_at == T0 + timedelta(hours=1)
    assert mailing.end_at == T0 + timedelta(hours=3)
    assert (mailing.operator_codes, mailing.tags, mailing.window) == (
        ("900", "916"),
        ("vip",),
        "09:00-21:00",
    )


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"start_at": "+2h", "end_at": "+1h"}, "end_at", "must be after Start"),
        ({"text": "   "}, "text", "must not be empty"),
        ({"text": "x" * 2001}, "text", "at most 2000 characters"),
        ({"window": "25:00-26:00"}, "window", "hours must be 00-23"),
        ({"window": "9-21"}, "window", "must be HH:MM-HH:MM"),
        ({"start_at": "tomorrow"}, "start_at", "must be ISO 8601"),
        ({"end_at": "+10x"}, "end_at", "must be ISO 8601"),
        ({"operator_code": "900, 9x"}, "operator_code", "exactly 3 digits"),
        ({"tag": "y" * 65}, "tag", "at most 64 characters"),
    ],
    ids=[
        "end-before-start",
        "empty-text",
        "long-text",
        "window-range",
        "window-format",
        "bad-start",
        "bad-end",
        "operator",
        "tag",
    ],
)
async def test_each_bad_field_is_shown_and_nothing_is_saved(
    make_app: AppFactory, store: Store, values: dict[str, str], field: str, message: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        await pilot.press("n")
        await settle(pilot)
        fill(pilot, **{"text": "Hello", **values})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MailingForm)
        found = form_errors(pilot)
        assert list(found) == [field]
        assert message in found[field]
        await pilot.press("escape")
        await settle(pilot)
    assert store.list_mailings() == []


async def test_form_counts_characters_and_the_audience(make_app: AppFactory, store: Store) -> None:
    add_clients(store, 5, tag="vip")
    store.create_client("79161110000", "vip")
    store.create_client("79161110001", "new")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        await pilot.press("n")
        await settle(pilot)
        audience = app.screen.query_one("#audience", Static)
        assert str(audience.render()) == "Will send to 7 clients (matching now)"
        fill(pilot, operator_code="916")
        await pilot.pause(0.4)  # the debounce
        await settle(pilot)
        assert str(audience.render()) == "Will send to 2 clients (matching now)"
        fill(pilot, tag="vip, new")
        await pilot.pause(0.4)
        await settle(pilot)
        assert str(audience.render()) == "Will send to 2 clients (matching now)"
        fill(pilot, tag="vip", operator_code="")
        await pilot.pause(0.4)
        await settle(pilot)
        assert str(audience.render()) == "Will send to 6 clients (matching now)"
        fill(pilot, operator_code="91")
        await pilot.pause(0.4)
        await settle(pilot)
        assert "fix the filter" in str(audience.render())
        fill(pilot, text="Hello there")
        await pilot.pause()
        assert str(app.screen.query_one("#text-count", Static).render()) == ("11/2000 characters")


async def test_edit_a_mailing(make_app: AppFactory, store: Store) -> None:
    mailing = store.create_mailing(T0 + timedelta(hours=1), T0 + timedelta(hours=2), "Old")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, MailingForm)
        assert form.query_one("#start_at", Input).value == "2026-12-01 14:00"
        fill(pilot, text="New text", window="10:00-20:00")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert rows(pilot)[0][1] == "New text"
    saved = store.get_mailing(mailing.id)
    assert (saved.text, saved.window, saved.start_at) == (
        "New text",
        "10:00-20:00",
        T0 + timedelta(hours=1),
    )


async def test_pause_resume_cancel_and_delete(make_app: AppFactory, store: Store) -> None:
    add_clients(store, 3)
    mailing = store.create_mailing(T0 - timedelta(minutes=5), T0 + timedelta(hours=1), "Hi")
    store.materialize_due(T0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        assert rows(pilot)[0][4] == "active"
        await pilot.press("p")
        await settle(pilot)
        assert store.get_mailing(mailing.id).paused
        assert rows(pilot)[0][4] == "paused"
        await pilot.press("p")
        await settle(pilot)
        assert not store.get_mailing(mailing.id).paused
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "3 pending message(s)" in str(app.screen.query_one(".dialog-body", Static).render())
        await pilot.press("n")
        await settle(pilot)
        assert not store.get_mailing(mailing.id).cancelled
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        got = store.get_mailing(mailing.id)
        assert got.cancelled and got.by_status == {"cancelled": 3}
        assert rows(pilot)[0][4] == "cancelled"
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert table(pilot).row_count == 1
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert table(pilot).row_count == 0
    assert store.list_mailings() == []


async def test_progress_updates_cells_in_place(make_app: AppFactory, store: Store) -> None:
    add_clients(store, 4)
    store.create_mailing(T0 - timedelta(minutes=5), T0 + timedelta(hours=1), "A")
    store.create_mailing(T0 - timedelta(minutes=9), T0 + timedelta(hours=1), "B")
    store.materialize_due(T0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        assert [r[5] for r in rows(pilot)] == [progress_bar(0, 4)] * 2
        await pilot.press("down")
        rebuilt: list[bool] = []
        original_clear = table(pilot).clear
        table(pilot).clear = lambda *a, **k: rebuilt.append(True) or original_clear(*a, **k)
        claims = [c for c in store.claim_due(T0, 100) if c.mailing_id == 2]
        store.record_outcomes([Outcome(c.id, "sent", sent_at=T0) for c in claims[:3]])
        app.screen.refresh_list()
        await settle(pilot)
        assert [r[5] for r in rows(pilot)] == [progress_bar(0, 4), progress_bar(3, 4)]
        assert rows(pilot)[1][5] == "████░ 3/4"
        assert table(pilot).cursor_row == 1, "the cursor stays where the user put it"
        assert rebuilt == [], "rows are updated by key, not rebuilt"


async def test_operator_and_tag_inputs_complete_the_last_item() -> None:
    suggester = CommaSuggester()
    suggester.values = ["900", "916", "926"]
    assert await suggester.get_suggestion("91") == "916"
    assert await suggester.get_suggestion("900, 9") == "900, 916", "not one already chosen"
    assert await suggester.get_suggestion("900, 92") == "900, 926"
    assert await suggester.get_suggestion("900, ") is None
    assert await suggester.get_suggestion("916") is None


async def test_enter_opens_the_details_and_e_edits(make_app: AppFactory, store: Store) -> None:
    add_clients(store, 2)
    mailing = store.create_mailing(T0 - timedelta(minutes=5), T0 + timedelta(hours=1), "Hi")
    store.materialize_due(T0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MailingDetailScreen)
        assert app.screen.mailing_id == mailing.id
        assert app.screen.query_one(LiveTable).row_count == 2
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MailingsScreen)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, MailingForm)


async def test_each_state_refuses_what_it_does_not_allow_and_says_why(
    make_app: AppFactory, store: Store
) -> None:
    add_clients(store, 2)
    finished = store.create_mailing(T0 - timedelta(hours=3), T0 - timedelta(hours=2), "Old")
    cancelled = store.create_mailing(T0 - timedelta(hours=1), T0 + timedelta(hours=1), "Oops")
    store.cancel_mailing(cancelled.id)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        screen = app.screen
        assert isinstance(screen, MailingsScreen)
        screen.table.move_to_key(str(finished.id))
        for key in ("p", "e", "c"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, MailingsScreen), f"{key} opened nothing"
        assert notices(app)[-3:] == [
            f"Mailing {finished.id} is finished: it cannot be paused.",
            f"Mailing {finished.id} is finished: it cannot be edited.",
            f"Mailing {finished.id} is finished: it cannot be cancelled.",
        ]
        screen.table.move_to_key(str(cancelled.id))
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog), "a cancelled mailing is not asked again"
        assert notices(app)[-1] == f"Mailing {cancelled.id} is already cancelled."
        await pilot.press("p")
        await settle(pilot)
        assert notices(app)[-1] == f"Mailing {cancelled.id} is cancelled: it cannot be paused."
    got = store.get_mailing(finished.id)
    assert not got.paused and not got.cancelled, "nothing was written"


async def test_a_new_mailing_is_selected_and_its_times_previewed(
    make_app: AppFactory, store: Store
) -> None:
    for n in range(3):
        store.create_mailing(T0 + timedelta(hours=n + 1), T0 + timedelta(hours=n + 2), f"M{n}")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_mailings(pilot)
        await pilot.press("n")
        await settle(pilot)
        fill(pilot, start_at="+2h", end_at="+150m", text="Newest")
        await pilot.pause()
        # Relative times are shown as the instants they mean, in the display timezone.
        preview = str(app.screen.query_one("#when-preview", Static).render())
        assert preview == "= 12-01 15:00–15:30 MSK"
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MailingsScreen)
        chosen = screen.selected()
        assert chosen is not None and chosen.text == "Newest"
        assert "start MSK" in screen_text(app)
