"""The stop list: phones that must never get a message, because the client opted out.

Adding a phone cancels its pending messages (error class ``stop_listed``);
removing it gives back those of live mailings it still matches. Both, and
imports from a CSV with a ``phone`` column (all or nothing), are written by
the store with their audit row in the same transaction. Every store call runs
on the store's thread in a worker; the list is read again after each change
and whenever the store reports one (another process may change it too).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from notifier_tui.core.errors import RowErrors, ValidationError
from notifier_tui.ui.dialogs.confirm import ConfirmDialog
from notifier_tui.ui.messages import StoreChanged
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.widgets import stats_format as fmt
from notifier_tui.ui.widgets.header import StatusHeader
from notifier_tui.ui.widgets.live_table import ColumnSpec, LiveTable
from notifier_tui.ui.workers import PeriodicRead, ReportsWorkerErrors

if TYPE_CHECKING:
    from notifier_tui.core.store.stoplist import StopEntry, StopListChange

SHOWN = 1000
"""Rows the table holds at most; the count above it is always the whole list's."""


def split_phones(text: str) -> list[str]:
    """``"7900…, 7916… 7926…"`` -> the phones, separated by commas, semicolons or spaces."""
    return [p for p in re.split(r"[\s,;]+", text) if p]


def change_text(verb: str, change: StopListChange, other: str, messages: str) -> str:
    """``Stop-listed 2 phones; 1 already listed; 3 pending messages cancelled.``"""
    n = len(change.changed)
    text = f"{verb} {n} phone{'' if n == 1 else 's'}"
    if change.unchanged:
        text += f"; {len(change.unchanged)} {other}"
    if change.messages:
        text += f"; {change.messages} pending message{'' if change.messages == 1 else 's'}"
        text += f" {messages}"
    return text + "."


class StopListScreen(NotifierNode, ReportsWorkerErrors, Screen[None]):
    """List, add, remove and import stop-listed phones; ``escape`` goes back."""

    CSS_PATH = "stoplist.tcss"
    AUTO_FOCUS = "#stop-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("a", "type_in('stop-add')", "Add"),
        Binding("d", "remove", "Remove"),
        Binding("i", "type_in('stop-import')", "Import CSV"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[StopEntry] = []
        """The list as last read (the table shows the first :data:`SHOWN`)."""
        self._reader = PeriodicRead("read the stop list", "stop list")

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with Horizontal(classes="stop-row"):
            yield Static("add", classes="stop-label")
            yield Input(
                placeholder="a: phones to stop-list, e.g. 79001234567, 79161234567",
                id="stop-add",
                compact=True,
            )
        with Horizontal(classes="stop-row"):
            yield Static("import", classes="stop-label")
            yield Input(
                placeholder="i: a CSV file with a phone column", id="stop-import", compact=True
            )
        yield Static(id="stop-count")
        table = LiveTable(id="stop-table")
        table.set_columns(self._columns())
        yield table
        yield Static(id="stop-result")
        yield Footer(compact=True, show_command_palette=False)

    def _columns(self) -> list[ColumnSpec]:
        tz = self.notifier.clock().astimezone(self.notifier.display_tz).tzname()
        return [("phone", "phone", 13), (f"added {tz}", "added", None)]

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def on_store_changed(self, _message: StoreChanged) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the list again (one read at a time; a change meanwhile gets one more)."""
        self._reader.start(self, self._read, again=True)

    async def _read(self) -> None:
        store = self.notifier.store
        self.entries = await store.run(store.stoplist_entries)
        now, tz = self.notifier.clock(), self.notifier.display_tz
        self.query_one(LiveTable).sync(
            [(e.phone, fmt.when(e.added_at, now, tz)) for e in self.entries[:SHOWN]]
        )
        n = len(self.entries)
        line = Text.assemble(
            (f"{n:,}", "bold"),
            f" phone{'' if n == 1 else 's'} on the stop list",
            ("  never sent to; their pending messages are cancelled", "dim"),
        )
        if n > SHOWN:
            line.append(f"  (the first {SHOWN:,} shown)", "dim")
        self.query_one("#stop-count", Static).update(line)

    # --- actions ----------------------------------------------------------------------

    def action_back(self) -> None:
        """Leave a field first; from the table, back to where the list was opened from."""
        if isinstance(self.focused, Input):
            self.query_one(LiveTable).focus()
        else:
            self.dismiss()

    def action_type_in(self, widget_id: str) -> None:
        """Put the cursor in the add or the import field."""
        self.query_one(f"#{widget_id}", Input).focus()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.query_one("#stop-result", Static).update(Text(text, "red" if error else ""))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            return
        if event.input.id == "stop-add":
            self._add(split_phones(value))
        else:
            self._import(Path(value).expanduser())

    @work(exclusive=True, group="stop-write", exit_on_error=False)
    async def _add(self, phones: list[str]) -> None:
        store = self.notifier.store
        try:
            change = await store.run(store.stoplist_add, phones)
        except ValidationError as err:
            self._say(f"Nothing added: {err}", error=True)
            return
        self.query_one("#stop-add", Input).value = ""
        self._written(change_text("Stop-listed", change, "already listed", "cancelled"))

    @work(exclusive=True, group="stop-write", exit_on_error=False)
    async def _import(self, path: Path) -> None:
        store = self.notifier.store
        try:
            change = await store.run(store.stoplist_import, path)
        except (ValidationError, RowErrors) as err:
            self._say(f"Nothing imported: {err}", error=True)
            return
        except OSError as err:
            self._say(f"Cannot read {path}: {err.strerror}", error=True)
            return
        self.query_one("#stop-import", Input).value = ""
        self._written(
            f"From {path.name}: "
            + change_text("stop-listed", change, "already listed", "cancelled")
        )

    def action_remove(self) -> None:
        """Take the highlighted phone off the list (after a yes)."""
        phone = self.query_one(LiveTable).cursor_key
        if phone is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(phone)

        self.app.push_screen(
            ConfirmDialog(
                "Remove from the stop list",
                f"Send to {phone} again? Live mailings it matches get its messages back.",
                yes="Remove",
            ),
            answered,
        )

    @work(exclusive=True, group="stop-write", exit_on_error=False)
    async def _remove(self, phone: str) -> None:
        store = self.notifier.store
        change = await store.run(store.stoplist_remove, [phone])
        self._written(change_text("Removed", change, "not listed", "given back"))

    def _written(self, line: str) -> None:
        self._say(line)
        self.notifier.after_write()
        self.reload()
