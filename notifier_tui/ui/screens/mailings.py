"""Mailings with their state and progress, refreshed every second by diffing rows by key.

The list is read on the store's thread; when the set of mailings is unchanged
only the cells that changed are updated (``update_cell``), so the cursor and
scroll position stay put while thousands of messages a second go out.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.records import MailingRecord
from notifier_tui.core.rules import MailingState
from notifier_tui.ui.dialogs.confirm import ConfirmDialog
from notifier_tui.ui.dialogs.mailing_form import MailingForm
from notifier_tui.ui.messages import StoreChanged
from notifier_tui.ui.widgets.header import StatusHeader
from notifier_tui.ui.workers import ReportsWorkerErrors

if TYPE_CHECKING:
    from notifier_tui.ui.app import NotifierApp

REFRESH_SECONDS = 1.0
COLUMNS = ("id", "text", "start", "end", "state", "progress")
BAR = 5
"""Cells of the progress bar."""
FIXED_WIDTH = 4 + 11 + 11 + 9 + 14 + 6 * 2 + 2 + 1
"""Columns but the text (progress at a typical 14), cell padding, margins, scrollbar."""
_STATE_STYLE = {
    MailingState.SCHEDULED: "cyan",
    MailingState.ACTIVE: "bold green",
    MailingState.PAUSED: "bold yellow",
    MailingState.FINISHED: "dim",
    MailingState.CANCELLED: "red",
}
Cells = tuple[str, str, str, str, str, str]


def progress_bar(done: int, total: int, width: int = BAR) -> str:
    """``███░░░ 123/200``: final messages out of all, readable without colour."""
    if total <= 0:
        return "—"
    filled = min(width, round(width * done / total))
    return f"{'█' * filled}{'░' * (width - filled)} {done:,}/{total:,}"


def preview(text: str, width: int = 60) -> str:
    """The text on one line, cut to ``width`` with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class MailingsScreen(ReportsWorkerErrors, Screen[None]):
    """Create, edit, pause, resume, cancel and delete mailings."""

    CSS_PATH = "mailings.tcss"
    AUTO_FOCUS = "#mailings-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New"),
        Binding("e", "edit", "Edit"),
        Binding("p", "pause", "Pause/resume"),
        Binding("c", "cancel_mailing", "Cancel"),
        Binding("d", "delete", "Delete"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._mailings: dict[str, MailingRecord] = {}
        self._cells: dict[str, Cells] = {}
        self._order: list[str] = []
        self._busy = False
        self._again = False
        self._width = 0
        self._last_refresh = 0.0

    @property
    def notifier(self) -> NotifierApp:
        return cast("NotifierApp", self.app)

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static("", id="mailings-summary")
        yield DataTable(id="mailings-table", cursor_type="row", zebra_stripes=True)
        # Every key is in the footer; the palette (ctrl+p) is left out so they fit in 80 columns.
        # Compact also spares a restyle of every key each time the footer recomposes
        # (FooterKey defaults to compact), which shows under load on every screen switch.
        yield Footer(compact=True, show_command_palette=False)

    def _text_width(self) -> int:
        """The text column takes whatever the fixed columns leave."""
        return max(12, self.app.size.width - FIXED_WIDTH)

    def _add_columns(self, table: DataTable[str | Text]) -> None:
        tz = self.notifier.clock().astimezone(self.notifier.display_tz).tzname()
        for key, label, width in (
            ("id", "id", 4),
            ("text", "text", self._width),
            ("start", f"start {tz}", 11),
            ("end", f"end {tz}", 11),
            ("state", "state", 9),
            ("progress", "progress", None),
        ):
            table.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        if self._text_width() != self._width and self._order:
            self._order = []  # the next refresh rebuilds with the new width
            self.refresh_list()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._width = self._text_width()
        self._add_columns(table)
        table.focus()
        self.set_interval(REFRESH_SECONDS, self.refresh_list)

    def on_screen_resume(self) -> None:
        self.refresh_list()

    @on(StoreChanged)
    def _changed(self) -> None:
        # Writes come in bursts while sending; the one-second refresh is soon enough for
        # them, and reading the list more often would only compete with the sender for
        # the store's thread. A write after a quiet spell shows at once.
        if time.monotonic() - self._last_refresh >= REFRESH_SECONDS:
            self.refresh_list()

    # --- refresh ------------------------------------------------------------------

    def refresh_list(self) -> None:
        """Read the mailings again; a read already under way is followed by one more."""
        if not self.is_current:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        self._last_refresh = time.monotonic()
        self._load()

    @work(group="mailings-load", exit_on_error=False)
    async def _load(self) -> None:
        store = self.notifier.store
        try:
            mailings = await store.run(store.list_mailings)
            self._apply(mailings)
        finally:
            self._busy = False
        if self._again:
            self._again = False
            self.refresh_list()

    def _row(self, m: MailingRecord) -> Cells:
        tz = self.notifier.display_tz
        return (
            str(m.id),
            preview(m.text, self._width),
            f"{m.start_at.astimezone(tz):%m-%d %H:%M}",
            f"{m.end_at.astimezone(tz):%m-%d %H:%M}",
            str(m.state),
            progress_bar(m.final, m.total),
        )

    @staticmethod
    def _cell(column: str, value: str) -> str | Text:
        if column == "state":
            return Text(value, style=_STATE_STYLE.get(MailingState(value), ""))
        if column == "id":
            return Text(value, justify="right")
        return value

    def _apply(self, mailings: list[MailingRecord]) -> None:
        table = self.query_one(DataTable)
        order = [str(m.id) for m in mailings]
        rebuild = order != self._order
        if rebuild:
            self._width = self._text_width()
        rows = {str(m.id): self._row(m) for m in mailings}
        self._mailings = {str(m.id): m for m in mailings}
        if rebuild:
            self._rebuild(table, order, rows)
        else:
            for key, cells in rows.items():
                old = self._cells.get(key)
                for column, value, before in zip(COLUMNS, cells, old or cells, strict=True):
                    if value != before:
                        table.update_cell(key, column, self._cell(column, value))
        self._cells = rows
        active = sum(m.state is MailingState.ACTIVE for m in mailings)
        summary = (
            f"{len(mailings)} mailing(s), {active} active"
            if mailings
            else ("No mailings yet: press n to create one.")
        )
        self.query_one("#mailings-summary", Static).update(summary)

    def _rebuild(
        self, table: DataTable[str | Text], order: list[str], rows: dict[str, Cells]
    ) -> None:
        key = self._cursor_key()
        with self.app.batch_update():
            table.clear(columns=True)
            self._add_columns(table)
            for row_key in order:
                cells = rows[row_key]
                table.add_row(
                    *(self._cell(c, v) for c, v in zip(COLUMNS, cells, strict=True)),
                    key=row_key,
                )
            if key in rows:
                table.move_cursor(row=table.get_row_index(key), animate=False)
        self._order = order

    def _cursor_key(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def selected(self) -> MailingRecord | None:
        """The mailing under the cursor, if any."""
        key = self._cursor_key()
        return self._mailings.get(key) if key is not None else None

    # --- actions --------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_edit()

    def action_new(self) -> None:
        self.app.push_screen(MailingForm(), self._saved)

    def action_edit(self) -> None:
        mailing = self.selected()
        if mailing is not None:
            self.app.push_screen(MailingForm(mailing), self._saved)

    def _saved(self, mailing: MailingRecord | None) -> None:
        if mailing is not None:
            self.notify(f"Mailing {mailing.id} saved ({mailing.state}).")
            self.refresh_list()

    def action_pause(self) -> None:
        mailing = self.selected()
        if mailing is None:
            return
        resume = mailing.state is MailingState.PAUSED
        self._write("resume" if resume else "pause", mailing)

    def action_cancel_mailing(self) -> None:
        mailing = self.selected()
        if mailing is None:
            return
        pending = mailing.by_status.get("pending", 0)
        question = (
            f"Cancel mailing {mailing.id}? Its {pending:,} pending message(s) become"
            " cancelled and it sends nothing more. This cannot be undone."
        )
        self.app.push_screen(
            ConfirmDialog("Cancel mailing", question, yes="Cancel mailing"),
            lambda yes: self._write("cancel", mailing) if yes else None,
        )

    def action_delete(self) -> None:
        mailing = self.selected()
        if mailing is None:
            return
        question = (
            f"Delete mailing {mailing.id} and its {mailing.total:,} message(s)?"
            " Its statistics go with it."
        )
        self.app.push_screen(
            ConfirmDialog("Delete mailing", question, yes="Delete"),
            lambda yes: self._write("delete", mailing) if yes else None,
        )

    @work(group="mailings-write", exit_on_error=False)
    async def _write(self, verb: str, mailing: MailingRecord) -> None:
        store = self.notifier.store
        operation = {
            "pause": store.pause_mailing,
            "resume": store.resume_mailing,
            "cancel": store.cancel_mailing,
            "delete": store.delete_mailing,
        }[verb]
        try:
            await store.run(operation, mailing.id)
        except (ValidationError, NotFoundError) as err:
            self.notify(str(err), severity="warning")
        else:
            past = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}
            self.notify(f"Mailing {mailing.id} {past.get(verb, 'deleted')}.")
            self.notifier.after_write()
        self.refresh_list()
