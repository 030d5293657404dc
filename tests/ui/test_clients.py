"""The clients screen: the form's inline errors, edits, deletes, search, sort and paging in SQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.events import MouseScrollDown, MouseScrollUp
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from notifier_tui.core.store import Store
from notifier_tui.core.store.clients import SORT_COLUMNS
from notifier_tui.ui.dialogs.client_form import ClientForm
from notifier_tui.ui.dialogs.confirm import ConfirmDialog
from notifier_tui.ui.dialogs.go_to_page import GoToPageDialog
from notifier_tui.ui.dialogs.import_csv import ImportDialog
from notifier_tui.ui.screens.clients import PAGE, SORTS, ClientsScreen
from tests.ui.conftest import (
    SIZE,
    AppFactory,
    add_clients,
    cell,
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
        assert range_text(pilot) == "rows 1-100 of 5,000 · page 1 of 50"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert range_text(pilot) == "rows 101-200 of 5,000 · page 2 of 50"
        assert shown_phones(pilot)[0] == phone(100)
        # Running off the end of a page with the cursor loads the next one.
        table(pilot).move_cursor(row=PAGE - 1)
        await pilot.press("down")
        await settle(pilot)
        assert range_text(pilot) == "rows 201-300 of 5,000 · page 3 of 50"
        assert table(pilot).cursor_row == 0
        await pilot.press("up")
        await settle(pilot)
        assert range_text(pilot) == "rows 101-200 of 5,000 · page 2 of 50"
        assert table(pilot).cursor_row == PAGE - 1
        await pilot.press("pagedown")  # from the last row: the next page
        await settle(pilot)
        assert range_text(pilot) == "rows 201-300 of 5,000 · page 3 of 50"
        # One more wheel turn at the bottom of the page turns it (and at the top, back).
        clients_table = table(pilot)
        clients_table.scroll_end(animate=False)
        await pilot.pause()
        clients_table.post_message(
            MouseScrollDown(clients_table, 5, 5, 0, 0, 0, False, False, False)
        )
        await settle(pilot)
        assert range_text(pilot) == "rows 301-400 of 5,000 · page 4 of 50"
        clients_table.post_message(MouseScrollUp(clients_table, 5, 5, 0, 0, 0, False, False, False))
        await settle(pilot)
        assert range_text(pilot) == "rows 201-300 of 5,000 · page 3 of 50"
        for _ in range(60):
            await pilot.press("right_square_bracket")
        await settle(pilot)
        assert range_text(pilot) == "rows 4,901-5,000 of 5,000 · page 50 of 50"
        assert table(pilot).row_count == PAGE
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert range_text(pilot) == "rows 4,801-4,900 of 5,000 · page 49 of 50"


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


# --- sorting, jumping, column widths ---------------------------------------------------


def shown_ids(pilot: Pilot[Any]) -> list[int]:
    t = table(pilot)
    return [int(t.get_row_at(i)[0]) for i in range(t.row_count)]


def labels(pilot: Pilot[Any]) -> list[str]:
    return [str(column.label) for column in table(pilot).ordered_columns]


def seed_unordered(store: Store) -> None:
    """Five clients whose phone, tag, operator and zone orders all differ from the id order."""
    for number, tag, zone, operator in [
        ("79160000003", "vip", "Europe/Moscow", "903"),
        ("79160000001", "new", "Asia/Omsk", "916"),
        ("79160000005", "", "UTC", "900"),
        ("79160000002", "regular", "Asia/Omsk", "916"),
        ("79160000004", "new", "Europe/Moscow", "901"),
    ]:
        store.create_client(number, tag, zone, operator)


async def click_header(pilot: Pilot[Any], column: str) -> None:
    """A real mouse click on the column's label in the header row."""
    t = table(pilot)
    x = 0
    for spec in t.ordered_columns:
        if spec.key.value == column:
            break
        x += spec.get_render_width(t)
    assert await pilot.click(t, offset=(x + 1, 0))
    await settle(pilot)


def test_the_screen_sorts_on_the_columns_the_store_can_sort_on() -> None:
    assert set(SORTS) == set(SORT_COLUMNS)


async def test_s_sorts_by_the_next_column_in_the_store_and_shift_s_reverses(
    make_app: AppFactory, store: Store
) -> None:
    seed_unordered(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown_ids(pilot) == [1, 2, 3, 4, 5]
        assert labels(pilot)[0] == "id ▲"
        await go(pilot, "s")
        assert labels(pilot)[:2] == ["id", "phone ▲"]
        assert shown_ids(pilot) == [2, 4, 1, 5, 3]
        await go(pilot, "s")  # tag: the empty tag first, a tie ("new") broken by id
        assert labels(pilot)[2] == "tag ▲"
        assert shown_ids(pilot) == [3, 2, 5, 4, 1]
        await go(pilot, "S")
        assert labels(pilot)[2] == "tag ▼"
        assert shown_ids(pilot) == [1, 4, 5, 2, 3]
        await go(pilot, "s", "s")  # operator, then timezone: each ascending again
        assert labels(pilot)[4] == "timezone ▲"
        assert shown_ids(pilot) == [2, 4, 1, 5, 3]
        await go(pilot, "s")  # and round to id
        assert labels(pilot)[0] == "id ▲"
        assert shown_ids(pilot) == [1, 2, 3, 4, 5]
        assert table(pilot).cursor_row == 0


async def test_a_header_click_sorts_by_that_column_and_again_reverses(
    make_app: AppFactory, store: Store
) -> None:
    seed_unordered(store)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await click_header(pilot, "operator")
        assert app.screen.sort_column == "operator"
        assert labels(pilot)[3] == "operator ▲"
        assert shown_ids(pilot) == [3, 5, 1, 2, 4]
        await click_header(pilot, "operator")
        assert labels(pilot)[3] == "operator ▼"
        assert shown_ids(pilot) == [4, 2, 1, 5, 3]
        await click_header(pilot, "timezone")  # another column: ascending
        assert labels(pilot)[3:] == ["operator", "timezone ▲"]
        assert shown_ids(pilot) == [2, 4, 1, 5, 3]


async def test_the_sort_spans_every_page_and_holds_across_search_and_refresh(
    make_app: AppFactory, store: Store
) -> None:
    add_clients(store, 140, tag="regular")
    store.create_client("79161112233", "vip")
    store.create_client("79162223344", "vip")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "S")  # id, descending: the store sorts, not the page
        assert shown_ids(pilot)[:3] == [142, 141, 140]
        assert range_text(pilot) == "rows 1-100 of 142 · page 1 of 2"
        await go(pilot, "right_square_bracket")
        assert shown_ids(pilot)[-1] == 1
        await pilot.press("slash", *"vip")
        await pilot.pause(0.3)  # the debounce
        await settle(pilot)
        assert shown_phones(pilot) == ["79162223344", "79161112233"]
        assert labels(pilot)[0] == "id ▼"
        await go(pilot, "escape")
        assert shown_ids(pilot)[:2] == [142, 141]
        # Away and back: the screen reloads its page in the same order.
        await go(pilot, "2", "1")
        assert isinstance(app.screen, ClientsScreen)
        assert labels(pilot)[0] == "id ▼"
        assert shown_ids(pilot)[:2] == [142, 141]
        # An edit reloads the page too.
        await go(pilot, "e")
        fill(pilot, tag="changed")
        await go(pilot, "ctrl+s")
        assert shown_ids(pilot)[:2] == [142, 141]
        assert str(table(pilot).get_row_at(0)[2]) == "changed"
        # A client added while sorted newest first is the first row.
        await go(pilot, "n")
        fill(pilot, phone="79165550000")
        await go(pilot, "ctrl+s")
        assert shown_ids(pilot)[0] == 143
        assert table(pilot).cursor_row == 0


async def test_end_and_go_to_page_reach_any_of_250_pages_with_one_query(
    make_app: AppFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_clients(store, 25_000)
    reads: list[tuple[int, str]] = []
    list_clients = store.list_clients

    def spy(*args: Any, **kwargs: Any) -> Any:
        reads.append((kwargs["offset"], kwargs["order"]))
        return list_clients(*args, **kwargs)

    monkeypatch.setattr(store, "list_clients", spy)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert range_text(pilot) == "rows 1-100 of 25,000 · page 1 of 250"
        reads.clear()
        await go(pilot, "end")
        assert reads == [(24_900, "id")], "one read: the last page, none between"
        assert range_text(pilot) == "rows 24,901-25,000 of 25,000 · page 250 of 250"
        assert shown_phones(pilot)[-1] == phone(24_999)
        assert table(pilot).cursor_row == PAGE - 1
        reads.clear()
        await go(pilot, "colon")
        assert isinstance(app.screen, GoToPageDialog)
        await pilot.press(*"120", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        assert set(reads) == {(11_900, "id")}, "only that page: none between"
        assert range_text(pilot) == "rows 11,901-12,000 of 25,000 · page 120 of 250"
        assert shown_phones(pilot)[0] == phone(11_900)
        assert table(pilot).cursor_row == 0
        # Sorted the other way, the last page holds the first clients.
        await go(pilot, "S", "G")
        assert range_text(pilot) == "rows 24,901-25,000 of 25,000 · page 250 of 250"
        assert shown_phones(pilot)[-1] == phone(0)
        await go(pilot, "g")
        assert range_text(pilot) == "rows 1-100 of 25,000 · page 1 of 250"
        assert shown_phones(pilot)[0] == phone(24_999)


async def test_go_to_page_refuses_what_is_not_a_page_and_goes_nowhere(
    make_app: AppFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_clients(store, 250)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "right_square_bracket")
        assert range_text(pilot) == "rows 101-200 of 250 · page 2 of 3"
        await go(pilot, "colon")
        dialog = app.screen
        assert isinstance(dialog, GoToPageDialog)
        assert "Page 2 of 3 is shown." in screen_text(app)
        reads: list[int] = []
        list_clients = store.list_clients

        def spy(*args: Any, **kwargs: Any) -> Any:
            reads.append(kwargs["offset"])
            return list_clients(*args, **kwargs)

        monkeypatch.setattr(store, "list_clients", spy)
        for typed, error in [
            ("", "type a number from 1 to 3"),
            ("abc", "'abc' is not a number from 1 to 3"),
            ("-1", "'-1' is not a number from 1 to 3"),
            ("2.5", "'2.5' is not a number from 1 to 3"),
            ("٣", "'٣' is not a number from 1 to 3"),
            ("0", "no page 0: the pages are 1 to 3"),
            ("4", "no page 4: the pages are 1 to 3"),
            ("9" * 5000, "no such page: the pages are 1 to 3"),
        ]:
            fill(pilot, page=typed)
            await go(pilot, "enter")
            assert app.screen is dialog, f"{typed!r} keeps the dialog open"
            assert form_errors(pilot) == {"page": error}
            assert error in screen_text(app)
        assert reads == [], "nothing was read"
        await go(pilot, "escape")
        assert isinstance(app.screen, ClientsScreen)
        assert reads == [100], "only the same page again, as after any dialog"
        assert range_text(pilot) == "rows 101-200 of 250 · page 2 of 3"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_long_tag_is_cut_and_every_column_stays_on_screen(
    make_app: AppFactory, store: Store, size: tuple[int, int]
) -> None:
    long_tag = "a-very-long-tag-" + "x" * 48
    assert len(long_tag) == 64  # the longest a tag may be
    store.create_client(phone(1), long_tag, "America/Argentina/Buenos_Aires")
    store.create_client(phone(2), "vip", "Europe/Moscow")
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        t = table(pilot)
        widths = {str(c.key.value): c.width for c in t.ordered_columns}
        assert 8 <= widths["tag"] <= 24
        assert widths["tag"] == (19 if size[0] == 80 else 24)
        tag_cell = cell(t, 1, "tag")
        assert tag_cell.endswith("…") and len(tag_cell) == widths["tag"]
        assert long_tag.startswith(tag_cell[:-1])
        if size[0] == 80:
            assert cell(t, 1, "timezone") == "America/Argentina/B…"
        else:  # room to spare goes to the timezone, up to the longest IANA name
            assert widths["timezone"] == 32
            assert cell(t, 1, "timezone") == "America/Argentina/Buenos_Aires"
        assert (
            sum(c.get_render_width(t) for c in t.ordered_columns)
            <= t.scrollable_content_region.width
        )
        text = screen_text(app)
        for header in ("id", "phone", "tag", "operator", "timezone"):
            assert header in text
        for value in (phone(1), "900", "Europe/Moscow", tag_cell):
            assert value in text
