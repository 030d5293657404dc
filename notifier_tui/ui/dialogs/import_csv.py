"""Import clients from a CSV file, all or nothing, with every bad line reported.

The first attempt is atomic: one bad row and nothing is written, and the
dialog lists each bad line with the rule it breaks (the core's report). The
user then fixes the file, or chooses to import only the valid rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from notifier_tui.core.errors import RowErrors, ValidationError
from notifier_tui.core.records import ImportResult
from notifier_tui.core.store import Store, read_client_csv
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.widgets.field import FormField
from notifier_tui.ui.widgets.live_table import LiveTable
from notifier_tui.ui.workers import ReportsWorkerErrors

SHOWN_ERRORS = 500
"""Bad lines listed at most; the count above the list is always complete."""
PROBLEM_WIDTH = 56
"""Columns of the problem text: the dialog's width less the line column, cell padding and
the scrollbar. Longer problems wrap onto more lines of their row instead of being cut."""


def _count_rows(path: Path) -> int:
    return sum(1 for _ in read_client_csv(path))


class ImportDialog(NotifierNode, ReportsWorkerErrors, ModalScreen[ImportResult | None]):
    """Dismisses with the import's result, or ``None`` when nothing was imported."""

    CSS_PATH = ["dialogs.tcss", "import_csv.tcss"]  # noqa: RUF012 - Textual reads it as is
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+y", "import_valid", "Import valid rows only", priority=True),
        Binding("escape", "cancel", "Close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._checked_path: Path | None = None
        self._valid_rows = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="import-dialog"):
            yield Label("Import clients from CSV", classes="dialog-title")
            yield Static(
                "Header: phone,tag,timezone[,operator_code]. Nothing is written unless"
                " every row is valid.",
                classes="dialog-hint",
            )
            yield FormField(
                "File",
                Input(placeholder="/path/to/clients.csv", id="path", compact=True),
                name="file",
            )
            yield Static("", id="import-summary")
            table = LiveTable(id="import-errors")
            table.set_columns([("line", "line", 5), ("problem", "problem", PROBLEM_WIDTH)])
            yield table
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import (enter)", id="import", variant="primary", compact=True)
                yield Button(
                    "Import valid rows only (ctrl+y)",
                    id="import-valid",
                    variant="warning",
                    compact=True,
                    disabled=True,
                )
                yield Button("Close (esc)", id="cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#import-errors").display = False
        self.query_one("#import-summary").display = False
        self.query_one("#path", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "import_valid":
            return self._checked_path is not None and self._valid_rows > 0
        return True

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._import(skip_invalid=False)

    @on(Input.Changed)
    def _path_changed(self) -> None:
        # A new path must be checked again before "valid rows only" means anything.
        self._checked_path = None
        self.query_one("#import-valid", Button).disabled = True
        self.query_one("#field-file", FormField).set_error(None)
        self.refresh_bindings()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "import":
            self._import(skip_invalid=False)
        elif event.button.id == "import-valid":
            self.action_import_valid()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_import_valid(self) -> None:
        if self._checked_path is not None:
            self._import(skip_invalid=True)

    @work(exclusive=True, group="import", exit_on_error=False)
    async def _import(self, skip_invalid: bool) -> None:
        raw = self.query_one("#path", Input).value.strip()
        field = self.query_one("#field-file", FormField)
        if not raw:
            field.set_error("type the path of a CSV file")
            return
        path = Path(raw).expanduser()
        store: Store = self.notifier.store
        self._summary("Reading…")
        try:
            result = await store.run(store.import_csv, path, skip_invalid=skip_invalid)
        except RowErrors as err:
            total = await store.run(_count_rows, path)
            self._show_errors(path, err, total)
            return
        except ValidationError as err:
            self._summary("")
            field.set_error(f"{err.field}: {err.rule}" if err.field != "file" else err.rule)
            return
        if result.imported:
            self.notifier.after_write()
        self.dismiss(result)

    def _summary(self, text: str) -> None:
        summary = self.query_one("#import-summary", Static)
        summary.update(text)
        summary.display = bool(text)

    def _show_errors(self, path: Path, err: RowErrors, total: int) -> None:
        bad_lines = {line for line, _ in err.errors}
        self._checked_path = path
        self._valid_rows = max(0, total - len(bad_lines))
        self._summary(
            f"{len(bad_lines)} bad row(s) of {total}: nothing was imported."
            f" Fix the file, or import the {self._valid_rows} valid row(s) only."
        )
        table = self.query_one("#import-errors", LiveTable)
        table.clear()
        for line, error in err.errors[:SHOWN_ERRORS]:
            # height=None: the row grows to the wrapped problem (a fixed-width column).
            table.add_row(line, Text(str(error)), height=None)
        table.display = True
        self.query_one("#import-valid", Button).disabled = self._valid_rows == 0
        self.refresh_bindings()
