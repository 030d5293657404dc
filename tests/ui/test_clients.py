"""The clients screen: the form's inline errors, edits, deletes, search and paging in SQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.events import MouseScrollDown, MouseScrollUp
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from notifier_tui.core.store import Store
from notifier_tui.ui.dialogs.client_form import ClientForm
from notifier_tui.ui.dialogs.confirm import ConfirmDialog
from notifier_tui.ui.dialogs.import_csv import ImportDialog
from notifier_tui.ui.screens.clients import PAGE, ClientsScreen
from tests.ui.conftest import (
    SIZE,
    AppFactory,
    add_clients,
    fill,
    form_errors,
    go,
    phone,
    screen_text,
    settle,
)

pytestmark = pytest.mark.timeout(60)


def table(pilot: Pilot[Any]) -> DataTable[Any]:
    return pilot.app.screen.query_one("#clients-table", DataTable)


def shown_phones(pilot: Pilot[Any]) -> list[str]:
    t = table(pilot)
    return [str(t.get_row_at(i)[1]) for i in range(t.row_count)]


def range_text(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#clients-range", Static).render())


async def test_add_a_client_typed_in_the_form(make_app: AppFactory, store: Store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "no clients yet" in range_text(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ClientForm)
        await pilot.press(*"89001234567")
        await pilot.press("tab", *"vip", "tab", *"Asia/Novosibirsk")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        assert shown_phones(pilot) == ["79001234567"]
        assert range_text(pilot) == "rows 1-1 of 1"
    [client] = store.list_clients()
    assert (client.phone, client.tag, client.timezone, client.operator_code) == (
        "79001234567",
        "vip",
        "Asia/Novosibirsk",
        "900",
    )


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"phone": "12345"}, "phone", "must be 7XXXXXXXXXX"),
        ({"phone": "+7 900 123-45-6x"}, "phone", "must be 7XXXXXXXXXX"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA name"),
        ({"operator_code": "9x0"}, "operator_code", "exactly 3 digits"),
        ({"tag": "x" * 65}, "tag", "at most 64 characters"),
        ({"phone": "+7 (900) 000-00-01"}, "phone", "already belongs to another client"),
    ],
    ids=["short-phone", "letter-in-phone", "timezone", "operator", "long-tag", "duplicate"],
)
async def test_each_bad_field_is_shown_in_the_form_and_nothing_is_saved(
    make_app: AppFactory, store: Store, values: dict[str, str], field: str, message: str
) -> None:
    store.create_client(phone(1), "old")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        fill(pilot, **{"phone": "79005550000", **values})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClientForm), "the form stays open"
        found = form_errors(pilot)
        assert list(found) == [field]
        assert message in found[field]
        # Fixing the field clears its message as you type.
        fill(
            pilot,
            **{
                field: {
                    "phone": "79005550000",
                    "tag": "ok",
                    "timezone": "Europe/Moscow",
                    "operator_code": "901",
                }[field]
            },
        )
        await pilot.pause()
        assert form_errors(pilot) == {}
        await pilot.press("escape")
        await settle(pilot)
    assert [c.phone for c in store.list_clients()] == [phone(1)]


async def test_edit_a_client(make_app: AppFactory, store: Store) -> None:
    add_clients(store, 3, tag="new")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ClientForm) and form.client is not None
        assert form.client.phone == phone(1)
        fill(pilot, tag="vip", operator_code="999")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [str(c) for c in table(pilot).get_row_at(1)[2:4]] == ["vip", "999"]
        assert table(pilot).cursor_row == 1
    client = store.list_clients()[1]
    assert (client.tag, client.operator_code) == ("vip", "999")


@pytest.mark.parametrize(("answer", "left"), [("y", 2), ("n", 3), ("escape", 3)])
async def test_delete_asks_first(
    make_app: AppFactory, store: Store, answer: str, left: int
) -> None:
    add_clients(store, 3)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press(answer)
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        assert table(pilot).row_count == left
    assert store.count_clients() == left
    assert (phone(0) in [c.phone for c in store.list_clients()]) == (left == 3)


async def test_search_filters_in_sql(make_app: AppFactory, store: Store) -> None:
    add_clients(store, 30, tag="regular")
    store.create_client("79161112233", "vip", "Asia/Vladivostok")
    store.create_client("79162223344", "vip")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert range_text(pilot) == "rows 1-32 of 32"
        await pilot.press("slash", *"vip")
        await pilot.pause(0.3)  # the debounce
        await settle(pilot)
        assert shown_phones(pilot) == ["79161112233", "79162223344"]
        assert range_text(pilot) == "rows 1-2 of 2"
        await pilot.press("ctrl+u", *"Vladivostok", "enter")
        await settle(pilot)
        assert shown_phones(pilot) == ["79161112233"]
        assert app.screen.query_one("#clients-table").has_focus
        # Digits typed into the search box are digits, not screen keys.
        await pilot.press("slash", "ctrl+u", *"7916222")
        await pilot.pause(0.3)
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        assert shown_phones(pilot) == ["79162223344"]
        await pilot.press("slash", "ctrl+u", *"nobody")
        await pilot.pause(0.3)
        await settle(pilot)
        assert table(pilot).row_count == 0
        assert "no client matches 'nobody'" in range_text(pilot)


async def test_paging_through_5000_clients_keeps_one_page_in_the_table(
    make_app: AppFactory, store: Store
) -> None:
    add_clients(store, 5000)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert table(pilot).row_count == PAGE
        assert range_text(pilot) == "rows 1-100 of 5,000"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert range_text(pilot) == "rows 101-200 of 5,000"
        assert shown_phones(pilot)[0] == phone(100)
        # Running off the end of a page with the cursor loads the next one.
        table(pilot).move_cursor(row=PAGE - 1)
        await pilot.press("down")
        await settle(pilot)
        assert range_text(pilot) == "rows 201-300 of 5,000"
        assert table(pilot).cursor_row == 0
        await pilot.press("up")
        await settle(pilot)
        assert range_text(pilot) == "rows 101-200 of 5,000"
        assert table(pilot).cursor_row == PAGE - 1
        await pilot.press("pagedown")  # from the last row: the next page
        await settle(pilot)
        assert range_text(pilot) == "rows 201-300 of 5,000"
        # One more wheel turn at the bottom of the page turns it (and at the top, back).
        clients_table = table(pilot)
        clients_table.scroll_end(animate=False)
        await pilot.pause()
        clients_table.post_message(
            MouseScrollDown(clients_table, 5, 5, 0, 0, 0, False, False, False)
        )
        await settle(pilot)
        assert range_text(pilot) == "rows 301-400 of 5,000"
        clients_table.post_message(MouseScrollUp(clients_table, 5, 5, 0, 0, 0, False, False, False))
        await settle(pilot)
        assert range_text(pilot) == "rows 201-300 of 5,000"
        for _ in range(60):
            await pilot.press("right_square_bracket")
        await settle(pilot)
        assert range_text(pilot) == "rows 4,901-5,000 of 5,000"
        assert table(pilot).row_count == PAGE
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert range_text(pilot) == "rows 4,801-4,900 of 5,000"


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(["phone,tag,timezone", *lines]) + "\n", encoding="utf-8")
    return path


async def test_import_with_bad_rows_lists_them_and_imports_nothing(
    make_app: AppFactory, store: Store, tmp_path: Path
) -> None:
    store.create_client(phone(9), "")
    csv_path = write_csv(
        tmp_path / "clients.csv",
        [
            "79001110001,vip,Europe/Moscow",
            "12345,vip,Europe/Moscow",
            "79001110002,,Mars/Olympus",
            f"{phone(9)},,",
            "89001110003,new,Asia/Omsk",
        ],
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, ImportDialog)
        fill(pilot, path=str(csv_path))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ImportDialog)
        report = app.screen.query_one("#import-errors", DataTable)
        lines = [report.get_row_at(i) for i in range(report.row_count)]
        assert [line for line, _ in lines] == [3, 4, 5]
        assert "phone" in lines[0][1] and "timezone" in lines[1][1]
        assert "already exists" in lines[2][1]
        summary = str(app.screen.query_one("#import-summary", Static).render())
        assert "3 bad row(s) of 5: nothing was imported" in summary
        assert store.count_clients() == 1
        # The user may then import the two valid rows only.
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        assert range_text(pilot) == "rows 1-3 of 3"
    assert store.count_clients() == 3


async def test_import_of_a_missing_file_says_so_in_the_dialog(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        fill(pilot, path=str(tmp_path / "nope.csv"))
        await pilot.press("enter")
        await settle(pilot)
        assert "cannot read" in (form_errors(pilot).get("file") or "")


async def test_import_errors_wrap_instead_of_being_cut(
    make_app: AppFactory, store: Store, tmp_path: Path
) -> None:
    long_phone = "+7 900 123 45 67 and some more words that make this line long"
    csv_path = write_csv(tmp_path / "clients.csv", [f'"{long_phone}",vip,Europe/Moscow'])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "i")
        fill(pilot, path=str(csv_path))
        await go(pilot, "enter")
        report = app.screen.query_one("#import-errors", DataTable)
        [row] = report.ordered_rows
        assert row.height >= 2, "a long problem takes more lines of its row"
        # Every word of the problem is on screen, the end of it included.
        text = " ".join(screen_text(app).split())
        assert "must be 7XXXXXXXXXX" in text
        assert "that make this" in text
        assert "line long'" in text


async def test_escape_clears_the_search_and_a_new_client_is_selected(
    make_app: AppFactory, store: Store
) -> None:
    add_clients(store, 30, tag="regular")
    store.create_client("79161112233", "vip")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"vip")
        await pilot.pause(0.3)
        await settle(pilot)
        assert shown_phones(pilot) == ["79161112233"]
        await go(pilot, "escape")
        assert app.screen.query_one("#search", Input).value == ""
        assert range_text(pilot) == "rows 1-31 of 31"
        assert table(pilot).has_focus
        await go(pilot, "n")
        fill(pilot, phone="79165550000")
        await go(pilot, "ctrl+s")
        assert table(pilot).cursor_row == 31
        assert str(table(pilot).get_row_at(31)[1]) == "79165550000"
