"""Mailings with their state and progress, refreshed every second by diffing rows by key.

The list is read on the store's thread and diffed into a :class:`LiveTable`
(only the cells that changed are updated), so the cursor and scroll position
stay put while thousands of messages a second go out. ``enter`` opens a
mailing's details; what each key may do to a mailing in its state is
:mod:`notifier_tui.core.actions`' rule, and a refusal says why.
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from notifier_tui.core.actions import MailingAction, pause_or_resume, refusal
from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.records import MailingRecord
from notifier_tui.core.rules import MailingState
from notifier_tui.ui.dialogs.confirm import ConfirmDialog
from notifier_tui.ui.dialogs.mailing_form import MailingForm
from notifier_tui.ui.messages import StoreChanged
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.screens.mailing_detail import MailingDetailScreen
from notifier_tui.ui.widgets import stats_format as fmt
from notifier_tui.ui.widgets.header import StatusHeader
from notifier_tui.ui.widgets.live_table import ColumnSpec, LiveTable, MailingTable
from notifier_tui.ui.workers import PeriodicRead, ReportsWorkerErrors

REFRESH_SECONDS = 1.0
BAR = 5
"""Cells of the progress bar."""
FIXED_WIDTH = 4 + 11 + 11 + 9 + 14 + 6 * 2 + 2 + 1
"""Columns but the text (progress at a typical 14), cell padding, margins, scrollbar."""

_DONE = {
    MailingAction.PAUSE: "paused",
    MailingAction.RESUME: "resumed",
    MailingAction.CANCEL: "cancelled",
    MailingAction.DELETE: "deleted",
}


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


class MailingsScreen(NotifierNode, ReportsWorkerErrors, Screen[None]):
    """Create, edit, pause, resume, cancel and delete mailings; ``enter`` shows one in detail."""

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
        self._reader = PeriodicRead("read the mailings", "mailings refresh")
        self._select: str | None = None
        self._last_refresh = 0.0

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static("", id="mailings-summary")
        yield MailingTable(id="mailings-table")
        # Every key is in the footer; the palette (ctrl+p) is left out so they fit in 80 columns.
        # Compact also spares a restyle of every key each time the footer recomposes
        # (FooterKey defaults to compact), which shows under load on every screen switch.
        yield Footer(compact=True, show_command_palette=False)

    @property
    def table(self) -> LiveTable:
        return self.query_one("#mailings-table", LiveTable)

    def _text_width(self) -> int:
        """The text column takes whatever the fixed columns leave."""
        return max(12, self.app.size.width - FIXED_WIDTH)

    def _columns(self) -> list[ColumnSpec]:
        tz = self.notifier.clock().astimezone(self.notifier.display_tz).tzname()
        return [
            ("id", "id", 4),
            ("text", "text", self._text_width()),
            (f"start {tz}", "start", 11),
            (f"end {tz}", "end", 11),
            ("state", "state", 9),
            ("progress", "progress", None),
        ]

    def on_mount(self) -> None:
        self.table.set_columns(self._columns())
        self.set_interval(REFRESH_SECONDS, self.refresh_list)

    def on_resize(self) -> None:
        if self.table.set_columns(self._columns()):
            self.refresh_list()

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
        self._last_refresh = time.monotonic()
        self._reader.start(self, self._load, again=True)

    async def _load(self) -> None:
        store = self.notifier.store
        self._show(await store.run(store.list_mailings))

    def _row(self, m: MailingRecord, width: int) -> tuple[object, ...]:
        tz = self.notifier.display_tz
        return (
            m.id,
            fmt.plain(preview(m.text, width)),
            f"{m.start_at.astimezone(tz):%m-%d %H:%M}",
            f"{m.end_at.astimezone(tz):%m-%d %H:%M}",
            fmt.state(m.state),
            progress_bar(m.final, m.total),
        )

    def _show(self, mailings: list[MailingRecord]) -> None:
        table = self.table
        table.set_columns(self._columns())
        width = self._text_width()
        self._mailings = {str(m.id): m for m in mailings}
        table.sync([self._row(m, width) for m in mailings])
        if self._select is not None and table.move_to_key(self._select):
            self._select = None
        active = sum(m.state is MailingState.ACTIVE for m in mailings)
        summary = (
            f"{len(mailings)} mailing(s), {active} active"
            if mailings
            else "No mailings yet: press n to create one."
        )
        self.query_one("#mailings-summary", Static).update(summary)

    def selected(self) -> MailingRecord | None:
        """The mailing under the cursor, if any."""
        key = self.table.cursor_key
        return self._mailings.get(key) if key is not None else None

    # --- actions --------------------------------------------------------------------

    def _refused(self, mailing: MailingRecord, action: MailingAction) -> bool:
        """Say why ``action`` does not apply to ``mailing`` in its state; ``True`` if so."""
        why = refusal(mailing.id, mailing.state, action)
        if why is not None:
            self.notify(why[0].upper() + why[1:] + ".", severity="warning")
        return why is not None

    @on(DataTable.RowSelected, "#mailings-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.app.push_screen(MailingDetailScreen(int(event.row_key.value)))

    def action_new(self) -> None:
        self.app.push_screen(MailingForm(), self._saved)

    def action_edit(self) -> None:
        mailing = self.selected()
        if mailing is not None and not self._refused(mailing, MailingAction.EDIT):
            self.app.push_screen(MailingForm(mailing), self._saved)

    def _saved(self, mailing: MailingRecord | None) -> None:
        if mailing is not None:
            self.notify(f"Mailing {mailing.id} saved ({mailing.state}).")
            self._select = str(mailing.id)
            self.refresh_list()

    def action_pause(self) -> None:
        mailing = self.selected()
        if mailing is None:
            return
        action = pause_or_resume(mailing.state)
        if not self._refused(mailing, action):
            self._write(action, mailing)

    def action_cancel_mailing(self) -> None:
        mailing = self.selected()
        if mailing is None or self._refused(mailing, MailingAction.CANCEL):
            return
        pending = mailing.by_status.get("pending", 0)
        question = (
            f"Cancel mailing {mailing.id}? Its {pending:,} pending message(s) become"
            " cancelled and it sends nothing more. This cannot be undone."
        )
        self._confirm(
            ConfirmDialog("Cancel mailing", question, yes="Cancel mailing"),
            MailingAction.CANCEL,
            mailing,
        )

    def action_delete(self) -> None:
        mailing = self.selected()
        if mailing is None or self._refused(mailing, MailingAction.DELETE):
            return
        question = (
            f"Delete mailing {mailing.id} and its {mailing.total:,} message(s)?"
            " Its statistics go with it."
        )
        self._confirm(
            ConfirmDialog("Delete mailing", question, yes="Delete"), MailingAction.DELETE, mailing
        )

    def _confirm(
        self, dialog: ConfirmDialog, action: MailingAction, mailing: MailingRecord
    ) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._write(action, mailing)

        self.app.push_screen(dialog, answered)

    @work(group="mailings-write", exit_on_error=False)
    async def _write(self, action: MailingAction, mailing: MailingRecord) -> None:
        store = self.notifier.store
        operation = {
            MailingAction.PAUSE: store.pause_mailing,
            MailingAction.RESUME: store.resume_mailing,
            MailingAction.CANCEL: store.cancel_mailing,
            MailingAction.DELETE: store.delete_mailing,
        }[action]
        try:
            await store.run(operation, mailing.id)
        except (ValidationError, NotFoundError) as err:
            # The state may have moved on since the row was read (it ended meanwhile).
            self.notify(str(err), severity="warning")
        else:
            self.notify(f"Mailing {mailing.id} {_DONE[action]}.")
            self.notifier.after_write()
        self.refresh_list()
