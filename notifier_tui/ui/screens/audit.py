"""The audit trail: who did what, from where, through which surface, to what, and the change.

The rows come from the store's append-only trail (``Store.audit_entries``),
written in the same transaction as each change by every surface (the UI, the
command line, the API, the daemon), so this screen shows them all. The newest
:data:`LIMIT` are read, newest first, again whenever the store reports a
change and every few seconds (another process may have acted). The filter
takes words (matched anywhere in a row) and ``mailing=ID`` (read in SQL:
that mailing's whole history, within the limit).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from notifier_tui.ui.messages import StoreChanged
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.widgets import stats_format as fmt
from notifier_tui.ui.widgets.header import StatusHeader
from notifier_tui.ui.widgets.live_table import ColumnSpec, LiveTable
from notifier_tui.ui.workers import PeriodicRead, ReportsWorkerErrors

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from notifier_tui.core.audit import AuditEntry

LIMIT = 500
"""Entries read at most (the newest); the trail itself keeps every one."""
REFRESH_SECONDS = 2.0
_MAILING = re.compile(r"^mailing=#?(\d+)$", re.IGNORECASE)


def parse_filter(text: str) -> tuple[int | None, list[str]]:
    """``"mailing=12 pause"`` -> ``(12, ["pause"])``: the mailing (read in SQL) and the words."""
    mailing: int | None = None
    words: list[str] = []
    for word in text.split():
        m = _MAILING.match(word)
        if m:
            mailing = int(m.group(1))
        else:
            words.append(word.casefold())
    return mailing, words


def object_text(entry: AuditEntry) -> str:
    """``mailing #3``, ``stoplist``."""
    return (
        entry.object_kind if entry.object_id is None else f"{entry.object_kind} #{entry.object_id}"
    )


def entry_row(entry: AuditEntry, now: datetime, tz: tzinfo) -> tuple[object, ...]:
    """One table row; the first cell is the entry's id (the row key)."""
    return (
        entry.id,
        fmt.when(entry.at, now, tz),
        Text(f"{entry.os_user}@{entry.host}"),
        Text(entry.surface),
        Text(entry.action, style="bold" if entry.action.endswith("delete") else ""),
        Text(object_text(entry)),
        fmt.plain(entry.describe_change(), 60),
    )


def matches(entry: AuditEntry, words: list[str]) -> bool:
    """Every word occurs in the row's who, surface, action, object or change."""
    haystack = " ".join(
        (
            entry.os_user,
            entry.host,
            entry.surface,
            entry.action,
            object_text(entry),
            entry.describe_change(),
        )
    ).casefold()
    return all(word in haystack for word in words)


class AuditScreen(NotifierNode, ReportsWorkerErrors, Screen[None]):
    """The newest operator actions; ``/`` filters, ``escape`` clears it and goes back."""

    CSS_PATH = "audit.tcss"
    AUTO_FOCUS = "#audit-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("escape", "back", "Clear / back"),
    ]

    def __init__(self, mailing_id: int | None = None) -> None:
        super().__init__()
        self.initial = f"mailing={mailing_id}" if mailing_id is not None else ""
        self.entries: list[AuditEntry] = []
        """What the last read returned and the filter kept, newest first."""
        self._reader = PeriodicRead("read the audit trail", "audit trail")
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with Horizontal(id="audit-filter-row"):
            yield Static("audit", id="audit-filter-label")
            yield Input(
                self.initial,
                placeholder="/ to filter: words, or mailing=ID",
                id="audit-filter",
                compact=True,
            )
        table = LiveTable(id="audit-table")
        table.set_columns(self._columns())
        yield table
        yield Static(id="audit-selected")
        yield Static(id="audit-status")
        yield Footer(compact=True, show_command_palette=False)

    def _columns(self) -> list[ColumnSpec]:
        tz = self.notifier.clock().astimezone(self.notifier.display_tz).tzname()
        return [
            ("#", "id", None),
            (f"at {tz}", "at", None),
            ("who", "who", None),
            ("surface", "surface", None),
            ("action", "action", None),
            ("object", "object", None),
            ("change", "change", None),
        ]

    def on_mount(self) -> None:
        self._timer = self.set_interval(REFRESH_SECONDS, self.reload)
        self.reload()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
        self.reload()

    def on_store_changed(self, _message: StoreChanged) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the trail again (one read at a time; a change meanwhile gets one more)."""
        self._reader.start(self, self._read, again=True)

    async def _read(self) -> None:
        mailing, words = parse_filter(self.query_one(Input).value)
        store = self.notifier.store
        found = await store.run(store.audit_entries, mailing_id=mailing, limit=LIMIT)
        self.entries = [e for e in reversed(found) if matches(e, words)]
        now, tz = self.notifier.clock(), self.notifier.display_tz
        self.query_one(LiveTable).sync([entry_row(e, now, tz) for e in self.entries])
        n = len(self.entries)
        status = Text(f"{n:,} action{'' if n == 1 else 's'}")
        if mailing is not None or words:
            status.append_text(Text.assemble(("  filter: ", "dim"), self.query_one(Input).value))
        if len(found) == LIMIT:
            status.append(f"  (the newest {LIMIT:,} read)", "dim")
        status.append(f"  times in {now.astimezone(tz).tzname()}", "dim")
        self.query_one("#audit-status", Static).update(status)
        self._show_selected()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.reload()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(LiveTable).focus()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        """The highlighted action's whole change, which the table cuts at 60 characters."""
        key = self.query_one(LiveTable).cursor_key
        entry = next((e for e in self.entries if str(e.id) == key), None)
        line = self.query_one("#audit-selected", Static)
        if entry is None:
            line.update("")
            return
        line.update(
            Text.assemble(
                (f"#{entry.id} {entry.action} ", "bold"),
                object_text(entry),
                ("  ", ""),
                fmt.plain(entry.describe_change() or "no change recorded"),
            )
        )

    def action_focus_filter(self) -> None:
        """Put the cursor in the filter box."""
        self.query_one(Input).focus()

    def action_back(self) -> None:
        """Clear the filter; without one, back to where the trail was opened from."""
        box = self.query_one(Input)
        if box.value:
            box.value = ""
            self.query_one(LiveTable).focus()
        else:
            self.dismiss()
