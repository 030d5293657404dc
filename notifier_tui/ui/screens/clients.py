"""The client directory: one page of rows at a time, searched, sorted and paged in SQL.

A directory may hold 100,000 clients; the table never holds more than one page
(:data:`PAGE`). Moving the cursor or the mouse wheel past the last row, or
``]``, loads the next page; ``[`` the previous one; Home/``g`` and End/``G`` go
to the first and the last client of the whole directory, ``:`` to page N (each
one offset query, never a walk through the pages between). A click on a column's
name sorts by it (again: the other way); ``s`` moves the sort to the next column,
``S`` reverses it. The store sorts, so the order holds across every page. Every
store call runs on the store's thread in an exclusive worker, so a new search
supersedes a slow one, and each page is diffed into the table by client id like
every live table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from notifier_tui.core.errors import NotFoundError
from notifier_tui.core.records import ClientRecord
from notifier_tui.ui.dialogs.client_form import ClientForm
from notifier_tui.ui.dialogs.confirm import ConfirmDialog
from notifier_tui.ui.dialogs.go_to_page import GoToPageDialog
from notifier_tui.ui.dialogs.import_csv import ImportDialog
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.widgets import stats_format as fmt
from notifier_tui.ui.widgets.header import StatusHeader
from notifier_tui.ui.widgets.live_table import ColumnSpec, LiveTable
from notifier_tui.ui.workers import ReportsWorkerErrors

if TYPE_CHECKING:
    from notifier_tui.core.records import ImportResult

PAGE = 100
"""Rows in the table at once."""
SEARCH_DEBOUNCE = 0.2
"""Seconds of quiet typing before the search runs."""
LAST = -1
"""An offset meaning "the last page"."""
_PAGING = Binding.Group("Page", compact=True)
_SORTING = Binding.Group("Sort", compact=True)
WIDTHS = {"id": 7, "phone": 11, "operator": 10, "timezone": 20}
"""Every column but the tag, wide enough for its values and its label with a sort arrow."""
TAG_WIDTH = 24
"""The tag column at most: longer tags (up to 64 characters) are cut with an ellipsis."""
ZONE_WIDTH = 32
"""The timezone column at most, given room to spare: the longest IANA name."""
FIXED_WIDTH = sum(WIDTHS.values()) + 5 * 2 + 2 + 1
"""Columns but the tag, cell padding, table margins and the scrollbar."""
SORTS = ("id", "phone", "tag", "operator", "timezone")
"""The columns in screen order: what ``s`` steps through (also the store's sort names)."""
ARROWS = {False: "▲", True: "▼"}
"""The sorted column's mark: ascending, descending."""


class ClientTable(LiveTable):
    """A table that asks for the neighbouring page when the cursor runs off either end."""

    class PageRequest(Message):
        """Load the page ``step`` pages away (+1 next, -1 previous)."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    class JumpRequest(Message):
        """Go to the first (``last=False``) or the last client of the whole search."""

        def __init__(self, *, last: bool) -> None:
            super().__init__()
            self.last = last

    def action_scroll_top(self) -> None:
        self.post_message(self.JumpRequest(last=False))

    def action_scroll_bottom(self) -> None:
        self.post_message(self.JumpRequest(last=True))

    def _at_end(self) -> bool:
        return self.row_count > 0 and self.cursor_row >= self.row_count - 1

    def action_cursor_down(self) -> None:
        if self._at_end():
            self.post_message(self.PageRequest(+1))
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:
            self.post_message(self.PageRequest(-1))
        else:
            super().action_cursor_up()

    def action_page_down(self) -> None:
        if self._at_end():
            self.post_message(self.PageRequest(+1))
        else:
            super().action_page_down()

    def action_page_up(self) -> None:
        if self.cursor_row <= 0:
            self.post_message(self.PageRequest(-1))
        else:
            super().action_page_up()

    # These run before the widget's own scrolling (the subclass comes first in the MRO):
    # one more wheel turn at either end of the page turns the page.
    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if not (event.ctrl or event.shift) and self.scroll_y >= self.max_scroll_y:
            event.prevent_default()
            event.stop()
            self.post_message(self.PageRequest(+1))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if not (event.ctrl or event.shift) and self.scroll_y <= 0:
            event.prevent_default()
            event.stop()
            self.post_message(self.PageRequest(-1))


class ClientsScreen(NotifierNode, ReportsWorkerErrors, Screen[None]):
    """Search, add, edit, delete and import clients."""

    CSS_PATH = "clients.tcss"
    AUTO_FOCUS = "#clients-table"
    """Not the search box: keys typed while the screen mounts must not land in it."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search"),
        Binding("n", "new", "New"),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("i", "import_csv", "Import"),
        Binding("left_square_bracket", "page(-1)", "Prev page", group=_PAGING),
        Binding("right_square_bracket", "page(1)", "Next page", group=_PAGING),
        Binding("colon", "go_to_page", "Go to page N", key_display=":", group=_PAGING),
        Binding("s", "sort_next", "Sort by the next column", group=_SORTING),
        Binding("S", "sort_reverse", "Reverse the sort", group=_SORTING),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.search = ""
        """The search the table shows (applied in SQL)."""
        self.page_offset = 0
        """Index of the first row shown, in the search's order (:attr:`order`)."""
        self.total = 0
        """Clients matching the search."""
        self.sort_column = "id"
        """The column the store sorts on: one of :data:`SORTS`."""
        self.sort_descending = False
        self._shown_order = "id"
        """The order of the rows in the table (the header's arrow), until a load shows another."""
        self._rows: dict[str, ClientRecord] = {}
        self._search_timer: Timer | None = None
        self._select_new: int | None = None
        """A client just added, to select once its page is shown."""
        self._page_asked: tuple[int, str] | None = None
        """A page a dialog asked for (offset, cursor), until it is shown."""

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with Horizontal(id="clients-bar"):
            yield Input(placeholder="/ search phone, tag, timezone", id="search", compact=True)
            yield Static("", id="clients-range")
        yield ClientTable(id="clients-table")
        # Every key is in the footer; the palette (ctrl+p) is left out so they fit in 80 columns.
        # Compact also spares a restyle of every key each time the footer recomposes
        # (FooterKey defaults to compact), which shows under load on every screen switch.
        yield Footer(compact=True, show_command_palette=False)

    @property
    def order(self) -> str:
        """The store's name for the sort chosen: ``"tag"``, ``"-tag"`` for descending."""
        return ("-" if self.sort_descending else "") + self.sort_column

    def _tag_width(self) -> int:
        """The tag column takes what the fixed columns leave, up to :data:`TAG_WIDTH`."""
        return max(8, min(TAG_WIDTH, self.app.size.width - FIXED_WIDTH))

    def _zone_width(self) -> int:
        """The timezone column takes what the tag leaves, up to :data:`ZONE_WIDTH`."""
        spare = self.app.size.width - FIXED_WIDTH - self._tag_width()
        return max(0, min(ZONE_WIDTH - WIDTHS["timezone"], spare)) + WIDTHS["timezone"]

    def _columns(self) -> list[ColumnSpec]:
        descending = self._shown_order.startswith("-")
        sorted_by = self._shown_order.lstrip("-")
        widths = {**WIDTHS, "tag": self._tag_width(), "timezone": self._zone_width()}
        return [
            (f"{key} {ARROWS[descending]}" if key == sorted_by else key, key, widths[key])
            for key in SORTS
        ]

    def on_resize(self) -> None:
        if self.query_one(ClientTable).set_columns(self._columns()):
            self.load(self.page_offset)

    def on_mount(self) -> None:
        table = self.query_one(ClientTable)
        table.set_columns(self._columns())
        table.focus()

    def on_screen_resume(self) -> None:
        # Another process (the command line, a daemon) may have changed the directory.
        # Right after an add, this load would supersede the one that selects the new client.
        if self._select_new is not None:
            self.load(self._new_client_page(), select_id=self._select_new)
        elif self._page_asked is not None:
            self.load(self._page_asked[0], cursor=self._page_asked[1])
        else:
            self.load(self.page_offset)

    # --- loading ------------------------------------------------------------------

    @work(exclusive=True, group="clients-page", exit_on_error=False)
    async def load(self, offset: int, select_id: int | None = None, cursor: str = "keep") -> None:
        """Show the page starting at ``offset`` (:data:`LAST` for the last page).

        Args:
            offset: first row to show.
            select_id: put the cursor on this client if it is on the page.
            cursor: otherwise ``"first"``, ``"last"`` or ``"keep"`` (same client or same row).
        """
        store, search, order = self.notifier.store, self.search, self.order
        total = await store.run(store.count_clients, search)
        last_page = max(0, (total - 1) // PAGE * PAGE)
        offset = last_page if offset == LAST else max(0, min(offset, last_page))
        rows = await store.run(store.list_clients, search, offset=offset, limit=PAGE, order=order)
        self._show(rows, offset, total, select_id, cursor, order)

    def _show(
        self,
        rows: list[ClientRecord],
        offset: int,
        total: int,
        select_id: int | None,
        cursor: str,
        order: str,
    ) -> None:
        table = self.query_one(ClientTable)
        self.page_offset, self.total = offset, total
        self._rows = {str(c.id): c for c in rows}
        self._shown_order = order
        self._page_asked = None
        tag_width, zone_width = self._tag_width(), self._zone_width()
        with self.app.batch_update():
            table.set_columns(self._columns())  # a new arrow rebuilds the table
            # The user's text is never read as markup (a tag may hold "["), and is cut to
            # its column with an ellipsis: one long tag must not push the others off screen.
            table.sync(
                [
                    (
                        c.id,
                        c.phone,
                        fmt.plain(c.tag, tag_width),
                        c.operator_code,
                        fmt.plain(c.timezone, zone_width),
                    )
                    for c in rows
                ]
            )
            # sync keeps the cursor on the same client (or the same row if it went).
            selected = select_id is not None and table.move_to_key(str(select_id))
            if select_id is not None and select_id == self._select_new:
                self._select_new = None  # shown, or not matching the search: either way, done
            if not selected and rows and cursor == "first":
                table.move_cursor(row=0, animate=False)
            elif not selected and rows and cursor == "last":
                table.move_cursor(row=len(rows) - 1, animate=False)
        self.query_one("#clients-range", Static).update(self._range_text(len(rows)))

    def _range_text(self, shown: int) -> str:
        if self.total == 0:
            if self.search:
                return f"no client matches {self.search!r}"
            return "no clients yet: n adds one, i imports a CSV"
        first, last = self.page_offset + 1, self.page_offset + shown
        text = f"rows {first:,}-{last:,} of {self.total:,}"
        if self.pages > 1:
            text += f" · page {self.page_offset // PAGE + 1:,} of {self.pages:,}"
        return text

    @property
    def pages(self) -> int:
        """Pages of the search (1 when nothing matches: the empty page)."""
        return max(1, -(-self.total // PAGE))

    def selected(self) -> ClientRecord | None:
        """The client under the cursor, if any."""
        key = self.query_one(ClientTable).cursor_key
        return self._rows.get(key) if key is not None else None

    # --- paging and search -----------------------------------------------------------

    @on(ClientTable.PageRequest)
    def _page_request(self, event: ClientTable.PageRequest) -> None:
        self.action_page(event.step)

    @on(ClientTable.JumpRequest)
    def _jump_request(self, event: ClientTable.JumpRequest) -> None:
        self.load(LAST if event.last else 0, cursor="last" if event.last else "first")

    def action_page(self, step: int) -> None:
        target = self.page_offset + step * PAGE
        if target < 0 or target >= self.total:
            return
        self.load(target, cursor="first" if step > 0 else "last")

    def action_go_to_page(self) -> None:
        def chosen(page: int | None) -> None:
            # The directory may have shrunk meanwhile: load() keeps to the last page.
            if page is not None:
                # The reload as the screen resumes (next) would supersede this one: it loads
                # the page asked for too, until one of them has shown it.
                self._page_asked = ((page - 1) * PAGE, "first")
                self.load(*self._page_asked)

        self.app.push_screen(GoToPageDialog(self.page_offset // PAGE + 1, self.pages), chosen)

    # --- sorting ----------------------------------------------------------------------

    def sort_by(self, column: str, *, descending: bool = False) -> None:
        """Sort the whole search by ``column`` (one of :data:`SORTS`) and show its first page."""
        if column not in SORTS:
            raise ValueError(f"cannot sort clients by {column!r}: one of {', '.join(SORTS)}")
        self.sort_column, self.sort_descending = column, descending
        self.load(0, cursor="first")

    def action_sort_next(self) -> None:
        self.sort_by(SORTS[(SORTS.index(self.sort_column) + 1) % len(SORTS)])

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort_column, descending=not self.sort_descending)

    @on(DataTable.HeaderSelected, "#clients-table")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = str(event.column_key.value)
        if column == self.sort_column:
            self.action_sort_reverse()
        else:
            self.sort_by(column)

    # --- search -----------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, self._run_search)

    def _run_search(self) -> None:
        value = self.query_one("#search", Input).value.strip()
        if value != self.search:
            self.search = value
            self.load(0, cursor="first")

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self._run_search()
        self.query_one(ClientTable).focus()

    def key_escape(self) -> None:
        """Escape clears the search (every client shows again) and goes back to the table."""
        search = self.query_one("#search", Input)
        if search.value or self.search:
            search.value = ""
            self.search = ""
            self.load(0, cursor="first")
        self.query_one(ClientTable).focus()

    # --- edits --------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_edit()

    def action_new(self) -> None:
        self.app.push_screen(ClientForm(), self._created)

    def _new_client_page(self) -> int:
        """Where a client just added shows: it has the highest id, so by id it comes last."""
        if self.sort_column != "id":
            return self.page_offset  # somewhere in the order: selected if it is on this page
        return 0 if self.sort_descending else LAST

    def _created(self, client: ClientRecord | None) -> None:
        if client is not None:
            self.notify(f"Client {client.id} ({client.phone}) added.")
            self._select_new = client.id
            self.load(self._new_client_page(), select_id=client.id)

    def action_edit(self) -> None:
        client = self.selected()
        if client is not None:
            self.app.push_screen(ClientForm(client), self._edited)

    def _edited(self, client: ClientRecord | None) -> None:
        if client is not None:
            self.notify(f"Client {client.id} saved.")
            self.load(self.page_offset, select_id=client.id)

    def action_delete(self) -> None:
        client = self.selected()
        if client is None:
            return
        question = (
            f"Delete client {client.id} ({client.phone})?\n"
            "Their pending messages are cancelled; sent ones stay in the statistics."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(client)

        self.app.push_screen(ConfirmDialog("Delete client", question, yes="Delete"), answered)

    @work(group="clients-write", exit_on_error=False)
    async def _delete(self, client: ClientRecord) -> None:
        store = self.notifier.store
        try:
            await store.run(store.delete_client, client.id)
        except NotFoundError:
            self.notify(f"Client {client.id} was already deleted.", severity="warning")
        else:
            self.notify(f"Client {client.id} deleted.")
            self.notifier.after_write()
        self.load(self.page_offset)

    def action_import_csv(self) -> None:
        self.app.push_screen(ImportDialog(), self._imported)

    def _imported(self, result: ImportResult | None) -> None:
        if result is None:
            return
        skipped = f"; {len(result.errors)} bad row(s) skipped" if result.errors else ""
        self.notify(f"Imported {result.imported:,} client(s){skipped}.")
        self.load(self.page_offset)
