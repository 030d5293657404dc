"""A DataTable that follows a changing list of rows by key instead of being rebuilt.

Live screens refresh once a second. Clearing and refilling a table each time
would make the cursor jump back to the top, lose the scroll position and
redraw every cell; like memray's live screen, :meth:`LiveTable.sync` diffs the
new rows against the shown ones by row key: new rows are added, changed cells
updated with ``update_cell``, vanished rows removed, all inside one
``batch_update`` so the screen repaints once. The cursor stays on the same row
(by key) when rows around it come or go.

Every table of the app is one of these (clients, mailings, statistics, a
mailing's messages), so each moves the same way: arrows, PageUp/PageDown,
Home/End and ``g``/``G`` for the first and last row.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

ColumnSpec = tuple[str | Text, str, int | None]
"""``(label, key, width)`` of one column; ``None`` sizes it to its content."""


class LiveTable(DataTable[Any]):
    """A row-cursor DataTable whose rows are replaced by diffing, never by clearing.

    Every row's first cell is its identity (a message or mailing id): it is the
    row key (as ``str``) and what the table sorts on to follow the given order.
    """

    DEFAULT_CSS = """
    LiveTable {
        height: 1fr;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # DataTable binds Home/End to the first and last *column*, which a row cursor
        # never uses; here they go to the first and last row, like g/G.
        Binding("home,g", "scroll_top", "First row", show=False),
        Binding("end,G", "scroll_bottom", "Last row", show=False),
    ]

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, name=name, id=id, classes=classes)
        self.sync_count = 0
        """How many times :meth:`sync` changed something (tests read it)."""
        self._spec: list[ColumnSpec] = []

    def set_columns(self, spec: Sequence[ColumnSpec]) -> bool:
        """Give the table these columns; a change of any label or width rebuilds it.

        Returns:
            Whether the table was rebuilt (its rows are gone: the next :meth:`sync` adds them).
        """
        wanted = list(spec)
        if wanted == self._spec:
            return False
        if self.columns or self.rows:
            self.clear(columns=True)
        for label, key, width in wanted:
            self.add_column(label, key=key, width=width)
        self._spec = wanted
        return True

    def move_to_key(self, key: str) -> bool:
        """Put the cursor on the row ``key``; ``False`` if there is no such row."""
        if RowKey(key) not in self.rows:
            return False
        self.move_cursor(row=self.get_row_index(key), animate=False)
        return True

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, or ``None`` in an empty table."""
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return [row.key.value for row in self.ordered_rows if row.key.value is not None]

    def sync(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Make the table show ``rows``, in that order, touching only what changed.

        Args:
            rows: each row's cells in column order; ``row[0]`` is the row's unique id.

        Returns:
            Whether anything changed.
        """
        wanted = {str(row[0]): row for row in rows}
        cursor_key = self.cursor_key
        columns = [column.key for column in self.ordered_columns]
        changed = False
        with self.app.batch_update():
            for key in [k for k in self.row_keys() if k not in wanted]:
                self.remove_row(key)
                changed = True
            for key, cells in wanted.items():
                if RowKey(key) not in self.rows:
                    self.add_row(*cells, key=key)
                    changed = True
                    continue
                for column, value in zip(columns, cells, strict=True):
                    if self.get_cell(key, column) != value:
                        self.update_cell(key, column, value, update_width=True)
                        changed = True
            if self.row_keys() != list(wanted):
                self._follow_order([row[0] for row in rows], columns[0])
                changed = True
            self._keep_cursor_on(cursor_key)
        if changed:
            self.sync_count += 1
        return changed

    def _follow_order(self, ids: list[Hashable], first_column: Any) -> None:
        # DataTable.sort hands the key function cell values, not row keys: the
        # first cell is the id, so the wanted position is looked up by it.
        position = {value: index for index, value in enumerate(ids)}
        self.sort(first_column, key=lambda value: position[value])

    def _keep_cursor_on(self, key: str | None) -> None:
        if key is None or RowKey(key) not in self.rows:
            # The row under the cursor vanished: the cursor stays at the same
            # index (DataTable clamps it), the nearest neighbour.
            return
        index = self.get_row_index(key)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)


class MailingTable(LiveTable):
    """A table of mailings: ``enter`` opens the highlighted mailing's details (in the footer)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details"),
    ]
