"""One mailing in detail: counts by status and its messages, filtered and paged in SQL.

A mailing may have a million messages, so the table never holds more than one
page: :meth:`Store.mailing_stats` returns that page (``status``, ``offset``,
``limit`` go into the query) with the counts. The page is read again about
once a second and diffed into the table by message id.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from notifier_tui.core.errors import NotFoundError
from notifier_tui.core.rules import MailingState
from notifier_tui.core.stats import MailingDetail
from notifier_tui.settings.paths import data_dir
from notifier_tui.ui.dialogs.clone import CloneDialog, not_sent
from notifier_tui.ui.dialogs.test_send import TestSendDialog
from notifier_tui.ui.messages import StoreChanged
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.palette import writable_dir
from notifier_tui.ui.screens.audit import AuditScreen
from notifier_tui.ui.widgets import stats_format as fmt
from notifier_tui.ui.widgets.header import StatusHeader
from notifier_tui.ui.widgets.live_table import ColumnSpec, LiveTable
from notifier_tui.ui.widgets.message_rows import FILTER_KEYS, filter_line, message_row
from notifier_tui.ui.widgets.projection import ProjectionView
from notifier_tui.ui.workers import PeriodicRead, ReportsWorkerErrors

__all__ = ["FILTER_KEYS", "MailingDetailScreen", "filter_line", "message_row"]

log = logging.getLogger("notifier_tui.ui.stats")

PAGE_SIZE = 100
"""Messages per page: what one query reads and the table holds."""

REFRESH_SECONDS = 1.0
PROJECTION_SECONDS = 5.0
"""How often the ETA and the projected misses are worked out again (a heavier read)."""

_FILTERS = Binding.Group("Filter by status")


class MailingDetailScreen(NotifierNode, ReportsWorkerErrors, Screen[None]):
    """Counts by status and one page of messages of a mailing.

    ``escape`` clears the status filter, and goes back when there is none.
    """

    CSS_PATH = "mailing_detail.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back / all"),
        *(
            Binding(key, f"filter('{key}')", "all" if status is None else status, group=_FILTERS)
            for key, status in FILTER_KEYS.items()
        ),
        Binding("left_square_bracket", "page(-1)", "Prev page", key_display="["),
        Binding("right_square_bracket", "page(1)", "Next page", key_display="]"),
        # Not in the footer, which 80 columns fill already: the line under the table names
        # them (with the N of "not sent"), and so do ? and the palette.
        Binding("n", "resend", "New mailing for the not sent", show=False),
        Binding("T", "test_send", "Test send to one phone", show=False),
        Binding("e", "export", "Export every message to CSV", show=False),
        Binding("A", "audit", "Audit trail of this mailing", show=False),
    ]

    def __init__(self, mailing_id: int) -> None:
        super().__init__()
        self.mailing_id = mailing_id
        """The mailing shown."""
        self.status: str | None = None
        """The status the messages are filtered by (``None``: all)."""
        self.page_offset = 0
        """Index of the first message of the page shown, among those matching."""
        self.detail: MailingDetail | None = None
        """What the last read returned."""
        self.audience: int | None = None
        """Clients matching a scheduled mailing now (its messages are made at start)."""
        self._reader = PeriodicRead(f"read mailing #{mailing_id}", "mailing detail")
        self._gone = False
        self._generation = 0
        self._timer: Timer | None = None
        self._projector = PeriodicRead(f"project mailing #{mailing_id}", "mailing projection")
        self._projection_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static(id="detail-title")
        yield ProjectionView(id="detail-projection")
        yield Static(id="detail-filters")
        table = LiveTable(id="detail-messages")
        table.set_columns(self._columns())
        yield table
        yield Static(id="detail-selected")
        yield Static(id="detail-page")
        # Compact like the other screens: every key fits in 80 columns, and the footer
        # does not restyle each key when it recomposes on a screen switch.
        yield Footer(compact=True, show_command_palette=False)

    def _columns(self) -> list[ColumnSpec]:
        # The times are in the display timezone: its name heads the first time column.
        tz = self.notifier.clock().astimezone(self.notifier.display_tz).tzname()
        return [
            ("id", "id", None),
            ("client", "client", None),
            ("phone", "phone", None),
            ("status", "status", None),
            (f"created {tz}", "created", None),
            ("sent", "sent", None),
            (Text("tries", justify="right"), "attempts", None),
            ("next try", "next", None),
            ("last error", "error", None),
        ]

    def on_mount(self) -> None:
        self.query_one("#detail-title", Static).update(Text(f"Mailing #{self.mailing_id}"))
        self._timer = self.set_interval(REFRESH_SECONDS, self._tick)
        self._projection_timer = self.set_interval(PROJECTION_SECONDS, self._project_now)
        self._tick()
        self._project_now()

    # --- refreshing -----------------------------------------------------------------

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()
        if self._projection_timer is not None:
            self._projection_timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None and not self._gone:
            self._timer.resume()
            self._tick()
        if self._projection_timer is not None and not self._gone:
            self._projection_timer.resume()
            self._project_now()

    def on_store_changed(self, _message: StoreChanged) -> None:
        self._tick()

    def _tick(self, *, force: bool = False) -> None:
        if not self._gone:
            self._reader.start(self, self.reload, force=force)

    async def reload(self) -> None:
        """Read the counts and the current page off the loop and show them."""
        store = self.notifier.store
        generation = self._generation
        try:
            detail = await store.run(
                store.mailing_stats,
                self.mailing_id,
                status=self.status,
                offset=self.page_offset,
                limit=PAGE_SIZE,
            )
        except NotFoundError:
            self._mailing_gone()
            return
        if generation != self._generation:
            # The user changed the filter or page while this read ran: a newer read shows it.
            return
        last_page = max(0, (detail.matching - 1) // PAGE_SIZE * PAGE_SIZE)
        if self.page_offset > last_page:
            # The filter's messages moved on (pending ones got sent): show the
            # last page that still has some rather than an empty one.
            self.page_offset = last_page
            await self.reload()
            return
        if detail.mailing.state is MailingState.SCHEDULED:
            m = detail.mailing
            self.audience = await store.run(store.audience_count, m.operator_codes, m.tags)
        else:
            self.audience = None
        self.show_detail(detail)

    def _mailing_gone(self) -> None:
        self._gone = True
        if self._timer is not None:
            self._timer.stop()
        if self._projection_timer is not None:
            self._projection_timer.stop()
        self.query_one(ProjectionView).show_problem("")
        self.query_one(LiveTable).sync([])
        self.query_one("#detail-title", Static).update(
            Text(f"Mailing #{self.mailing_id} was deleted.", style="bold red")
        )
        self.query_one("#detail-page", Static).update(Text("escape: back", style="dim"))

    def show_detail(self, detail: MailingDetail) -> None:
        """Diff one page into the table and refresh the lines around it."""
        self.detail = detail
        now, tz = self.notifier.clock(), self.notifier.display_tz
        mailing = detail.mailing
        title = Text.assemble(
            (f"Mailing #{mailing.id} ", "bold"),
            fmt.state(mailing.state),
            ("  ", ""),
            fmt.period(mailing.start_at, mailing.end_at, tz),
        )
        if mailing.window:
            title.append(f"  window {mailing.window}", "dim")
        title.append("  ")
        title.append_text(fmt.plain(mailing.text))
        self.query_one("#detail-title", Static).update(title)
        self.query_one("#detail-filters", Static).update(
            filter_line(detail.by_status, mailing.total, self.status)
        )
        self.query_one(LiveTable).sync([message_row(m, now, tz) for m in detail.messages])
        self._show_page()
        self._show_selected()

    def _show_page(self) -> None:
        detail = self.detail
        if detail is None:
            return
        what = "messages" if self.status is None else f"{self.status} messages"
        if not detail.messages and self.audience is not None and self.status is None:
            noun = "client" if self.audience == 1 else "clients"
            text = Text(
                f"No messages yet: the audience is built at start, about {self.audience:,}"
                f" {noun} (those matching now).",
                style="dim",
            )
        elif not detail.messages:
            text = Text(f"No {what}.", style="dim")
        else:
            first, last = self.page_offset + 1, self.page_offset + len(detail.messages)
            pages = max(1, -(-detail.matching // PAGE_SIZE))
            text = Text.assemble(
                f"{first:,}–{last:,} of {detail.matching:,} {what}",
                (f"  page {self.page_offset // PAGE_SIZE + 1}/{pages}", "dim"),
            )
        text.append_text(self._campaign_keys())
        self.query_one("#detail-page", Static).update(text)

    def _campaign_keys(self) -> Text:
        """``n: new mailing for the 6 not sent · T: test send · e: export CSV``, dimmed."""
        detail = self.detail
        missed = not_sent(detail.by_status) if detail is not None else 0
        keys = ["T: test send", "e: export CSV"]
        if missed:
            keys.insert(0, f"n: new mailing for the {missed:,} not sent")
        return Text("  " + " · ".join(keys), style="dim")

    # --- the projection: ETA and misses, live -------------------------------------------

    def _project_now(self) -> None:
        if not self._gone:
            self._projector.start(self, self.project)

    async def project(self) -> None:
        """Work out the ETA and who will miss the end, from now (or from the start)."""
        view = self.query_one(ProjectionView)
        store = self.notifier.store
        try:
            # The state from the same moment as the projection, not from the last page read.
            mailing = await store.run(store.get_mailing, self.mailing_id)
            if mailing.state in (MailingState.FINISHED, MailingState.CANCELLED):
                view.show_problem(f"Mailing {mailing.state}: nothing more will be sent.")
                return
            preview = await store.run(
                store.preview_mailing,
                self.mailing_id,
                rate_limit=self.notifier.settings.rate_limit,
            )
        except NotFoundError:
            return  # the periodic read says so
        started = mailing.state is not MailingState.SCHEDULED
        view.show_preview(
            preview,
            self.notifier.clock(),
            self.notifier.display_tz,
            started=started,
            one_line=True,
            note="Paused; if resumed now: " if mailing.state is MailingState.PAUSED else "",
        )

    # --- the selected message ------------------------------------------------------

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        line = self.query_one("#detail-selected", Static)
        key = self.query_one(LiveTable).cursor_key
        messages = {m.id: m for m in self.detail.messages} if self.detail else {}
        message = None if key is None else messages.get(int(key))
        if message is None:
            line.update("")
            return
        now, tz = self.notifier.clock(), self.notifier.display_tz
        text = Text.assemble((f"#{message.id} ", "bold"), message.phone, "  ")
        text.append_text(fmt.status(message.status))
        if message.next_attempt_at is not None and message.status == "pending":
            text.append("  next try ", "dim")
            text.append_text(fmt.when(message.next_attempt_at, now, tz))
        if message.last_error:
            text.append("  last error: ", "dim")
            text.append_text(fmt.plain(message.last_error))
        line.update(text)

    # --- actions --------------------------------------------------------------------

    def action_back(self) -> None:
        """Clear the status filter; without one, back to where it was opened from."""
        if self.status is not None:
            self.action_filter("a")
        else:
            self.dismiss()

    def action_filter(self, key: str) -> None:
        """Show only the messages of the status bound to ``key`` (``a``: all)."""
        status = FILTER_KEYS.get(key)
        if status == self.status:
            return
        self.status, self.page_offset = status, 0
        self.query_one(LiveTable).move_cursor(row=0, animate=False)
        self._reload_now()

    def action_page(self, step: int) -> None:
        """Go ``step`` pages forward (or back)."""
        matching = self.detail.matching if self.detail is not None else 0
        offset = min(max(0, self.page_offset + step * PAGE_SIZE), max(0, matching - 1))
        offset -= offset % PAGE_SIZE
        if offset == self.page_offset:
            return
        self.page_offset = offset
        self.query_one(LiveTable).move_cursor(row=0, animate=False)
        self._reload_now()

    def action_resend(self) -> None:
        """A new mailing for the clients whose message failed, expired or was cancelled."""
        detail = self.detail
        if detail is None:
            return
        if not_sent(detail.by_status) == 0:
            self.notify("Nothing to resend: no failed, expired or cancelled messages.")
            return
        self.app.push_screen(CloneDialog(detail.mailing, detail.by_status))

    def action_test_send(self) -> None:
        """Send the mailing's text to one phone now (recorded as a test, never counted)."""
        if self.detail is not None:
            self.app.push_screen(TestSendDialog(self.detail.mailing))

    def action_audit(self) -> None:
        """Who did what to this mailing: the audit trail filtered by it."""
        self.app.push_screen(AuditScreen(self.mailing_id))

    def export_dir(self) -> Path:
        """Where exports go: the user data dir if it can be written, else the cwd."""
        return writable_dir([data_dir() / "exports", Path.cwd()])

    def action_export(self) -> None:
        """Write every message of the mailing to a CSV file and say where."""
        stamp = self.notifier.clock().astimezone(self.notifier.display_tz)
        path = self.export_dir() / f"mailing-{self.mailing_id}-{stamp:%Y%m%d-%H%M%S}.csv"
        self.notify(f"Exporting mailing #{self.mailing_id} to {path}…")
        self._export(path)

    @work(exclusive=True, group="export", exit_on_error=False)
    async def _export(self, path: Path) -> None:
        store = self.notifier.store
        try:
            count = await store.run(store.export_mailing_csv, self.mailing_id, path)
        except OSError as err:
            self.notify(f"Cannot write {path}: {err.strerror}", severity="error")
            return
        self.notify(f"Exported {count:,} messages of mailing #{self.mailing_id} to {path}")

    def _reload_now(self) -> None:
        # A user's change must show even if a periodic read is in flight: that
        # read is now stale (another generation) and is dropped when it lands.
        self._generation += 1
        self._tick(force=True)
