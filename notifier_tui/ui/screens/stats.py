"""Statistics: every mailing with its counts by status, totals, and the live figures.

Under the live panel, three charts of the same snapshot over the last minutes
(ui/widgets/charts.py) share the height with the table; on a short terminal
they give way to it (stats.tcss), and on a narrow one the latency chart does,
its current percentiles being in the panel's text.

The table refreshes about once a second (and at once after a write from this
process) from :meth:`Store.overall_stats`, which runs on the store's thread;
the result is diffed into the table by mailing id, so the cursor and the
scroll position survive every refresh. ``enter`` opens the mailing's detail.
"""

from __future__ import annotations

import logging

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from notifier_tui.core.records import MailingRecord
from notifier_tui.core.rules import ALL_STATUSES
from notifier_tui.core.stats import OverallStats
from notifier_tui.ui.messages import StoreChanged
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.screens.mailing_detail import MailingDetailScreen
from notifier_tui.ui.widgets import stats_format as fmt
from notifier_tui.ui.widgets.charts import LiveCharts
from notifier_tui.ui.widgets.header import StatusHeader
from notifier_tui.ui.widgets.live_panel import LivePanel
from notifier_tui.ui.widgets.live_table import LiveTable, MailingTable
from notifier_tui.ui.workers import PeriodicRead, ReportsWorkerErrors

log = logging.getLogger("notifier_tui.ui.stats")

REFRESH_SECONDS = 1.0
"""How often the table and the live panel are read again."""

TEXT_PREVIEW = 40
"""Characters of a mailing's text shown in the table (the line below shows more)."""


def mailing_row(mailing: MailingRecord) -> tuple[object, ...]:
    """One table row: id, state, total, a count per status, then the text preview."""
    counts = fmt.status_counts(mailing.by_status)
    return (
        mailing.id,
        fmt.state(mailing.state),
        fmt.count(mailing.total),
        *(fmt.count(counts[name]) for name in ALL_STATUSES),
        fmt.plain(mailing.text, TEXT_PREVIEW),
    )


def totals_line(stats: OverallStats) -> Text:
    """``store: total 12,345 │ pending 10 sending 2 … │ 5 mailings`` under the table."""
    line = Text.assemble(("store: total ", "dim"), (f"{stats.total:,}", "bold"), (" │", "dim"))
    for name, value in fmt.status_counts(stats.by_status).items():
        line.append(f" {name} ", "dim")
        line.append(f"{value:,}", fmt.STATUS_STYLE[name] if value else "dim")
    # Last, as the table already shows the mailings: on a narrow screen it is what is cut.
    line.append(" │ ", "dim")
    line.append(f"{len(stats.mailings):,} mailings")
    return line


class StatsScreen(NotifierNode, ReportsWorkerErrors, Screen[None]):
    """Overall statistics with the live panel; ``enter`` opens a mailing's detail."""

    CSS_PATH = "stats.tcss"
    # The charts need height to be read, the table rows to be used (stats.tcss).
    # Textual declares these `ClassVar[...] | None`, which mypy takes for an
    # instance variable: a ClassVar annotation here would not type-check.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        self.stats: OverallStats | None = None
        """The statistics shown now (``None`` until the first read)."""
        self._by_id: dict[int, MailingRecord] = {}
        self._reader = PeriodicRead("read the statistics", "stats refresh")
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield LivePanel(id="stats-live")
        yield LiveCharts(id="stats-charts")
        table = MailingTable(id="stats-table")
        table.add_column("id", key="id")
        table.add_column("state", key="state")
        table.add_column(Text("total", justify="right"), key="total")
        for name in ALL_STATUSES:
            table.add_column(Text(name, justify="right"), key=name)
        table.add_column("text", key="text")
        yield table
        yield Static(id="stats-selected")
        yield Static(id="stats-totals")
        # Compact like the other screens: every key fits in 80 columns, and the footer
        # does not restyle each key when it recomposes on a screen switch.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.watch(self.notifier, "snapshot", self._show_live, init=False)
        self._timer = self.set_interval(REFRESH_SECONDS, self._tick)
        self._show_live()
        self._tick()

    # --- refreshing -----------------------------------------------------------------

    def on_screen_suspend(self) -> None:
        # Another screen is in front: nobody sees the figures, so do not read them.
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
        self._tick()

    def on_store_changed(self, _message: StoreChanged) -> None:
        self._tick()

    def _tick(self) -> None:
        self._reader.start(self, self.reload)

    async def reload(self) -> None:
        """Read the overall statistics off the loop and show them (tests await this)."""
        store = self.notifier.store
        stats = await store.run(store.overall_stats)
        self.show_stats(stats)

    def show_stats(self, stats: OverallStats) -> None:
        """Diff ``stats`` into the table and refresh the lines under it."""
        self.stats = stats
        self._by_id = {m.id: m for m in stats.mailings}
        self.query_one(LiveTable).sync([mailing_row(m) for m in stats.mailings])
        self.query_one("#stats-totals", Static).update(totals_line(stats))
        self._show_selected()
        self._show_live()

    def _show_live(self, _value: object = None) -> None:
        pending = None if self.stats is None else self.stats.by_status.get("pending", 0)
        snapshot = self.notifier.snapshot
        self.query_one(LivePanel).show(snapshot, self.notifier.clock(), pending)
        self.query_one(LiveCharts).show(snapshot)
        self.set_class(snapshot is not None, "-live")

    # --- the selected mailing ---------------------------------------------------

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _selected(self) -> MailingRecord | None:
        key = self.query_one(LiveTable).cursor_key
        return None if key is None else self._by_id.get(int(key))

    def _show_selected(self) -> None:
        line = self.query_one("#stats-selected", Static)
        mailing = self._selected()
        if mailing is None:
            hint = "No mailings yet: create one on the Mailings screen (2)."
            line.update(Text(hint if self.stats is not None else "Reading…", style="dim"))
            return
        tz = self.notifier.display_tz
        text = Text.assemble(
            (f"#{mailing.id} ", "bold"), fmt.period(mailing.start_at, mailing.end_at, tz)
        )
        if mailing.window:
            text.append(f"  window {mailing.window}", "dim")
        text.append("  ")
        text.append_text(fmt.plain(mailing.text))
        line.update(text)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.app.push_screen(MailingDetailScreen(int(event.row_key.value)))

    def action_open_detail(self) -> None:
        """Open the highlighted mailing's detail."""
        mailing = self._selected()
        if mailing is not None:
            self.app.push_screen(MailingDetailScreen(mailing.id))
