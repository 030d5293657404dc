"""The application's recent log lines, live, filterable by text.

The lines come from the app's :class:`~notifier_tui.settings.logs.LogRing`: all of it
when the screen mounts or the filter changes, then each new line through a
ring listener. Listeners are called from whatever thread logs (the sender's
loop, the store's thread, a worker), so the listener only appends to a
bounded buffer under a lock and, for the first line of a batch, posts one
message (thread-safe); the screen then flushes the batch
:data:`FLUSH_SECONDS` later. A burst of thousands of lines
costs one write, and the buffer never holds more than the widget shows.
"""

from __future__ import annotations

import re
import textwrap
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Log, Static

from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.screens.audit import AuditScreen
from notifier_tui.ui.widgets.header import StatusHeader
from notifier_tui.ui.workers import ReportsWorkerErrors

if TYPE_CHECKING:
    from notifier_tui.settings.logs import LogRing

MAX_LINES = 5000
"""Lines the view keeps (as many as the app's ring holds by default)."""

FLUSH_SECONDS = 0.2
"""How long new lines gather before they are written in one batch."""

Matcher = Callable[[str], bool]

_PREFIX = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),\d{3} (\w+ *) notifier_tui\.")
"""The start of a line in ``logs.FORMAT``: date, time with milliseconds, level, our package."""

LEVELS = ("", "INFO", "WARNING", "ERROR")
"""The least level shown, in the order ``l`` steps through them ("": every line)."""
_RANK = {"DEBUG": 0, "INFO": 1, "WARNING": 2, "ERROR": 3, "CRITICAL": 4}


def compact(line: str, source: tzinfo | None = None, shown: tzinfo | None = None) -> str:
    """A log line without what every line repeats: the date, milliseconds, ``notifier_tui.``.

    ``2026-03-02 09:00:13,000 INFO    notifier_tui.core.sending.sender: answer …``
    becomes ``09:00:13 INFO    core.sender: answer …``, so at 80 columns the
    message itself shows. Lines in another format are left as they are; the
    filter still sees the whole line.

    Args:
        line: one line as the log file has it.
        source: the zone the line's time was written in (the machine's).
        shown: the display timezone; with ``source``, the time is moved into it.
    """
    m = _PREFIX.match(line)
    if m is None:
        return line
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    clock = f"{hour:02d}:{minute:02d}:{second:02d}"
    if source is not None and shown is not None:
        written = datetime(year, month, day, hour, minute, second, tzinfo=source)
        clock = f"{written.astimezone(shown):%H:%M:%S}"
    return f"{clock} {m.group(7)} {line[m.end() :]}"


def level_of(line: str) -> int:
    """The rank of a line's level (lines in another format count as INFO)."""
    m = _PREFIX.match(line)
    return _RANK.get(m.group(7).strip(), 1) if m else 1


def compile_filter(text: str) -> Matcher | None:
    """A case-insensitive matcher for a filter; ``None`` for an empty one (everything).

    Every word must occur in the line. A ``key=value`` word matches whole
    values only, so ``message=12`` does not find ``message=123``; other words
    match anywhere, so a filter being typed narrows as it grows.
    """
    patterns = []
    for word in text.split():
        pattern = re.escape(word)
        if "=" in word and word[-1].isalnum():
            pattern += r"(?![\w])"
        patterns.append(re.compile(pattern, re.IGNORECASE))
    if not patterns:
        return None
    return lambda line: all(p.search(line) for p in patterns)


class LogView(Log):
    """The lines: Home/End, PageUp/PageDown like every view, and ``g``/``G`` for top and bottom."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]


class LogLinesWaiting(Message, bubble=False):
    """New log lines are buffered: flush them shortly (posted once per batch)."""


class LogScreen(NotifierNode, ReportsWorkerErrors, Screen[None]):
    """Recent log lines as they come; ``/`` filters them."""

    CSS_PATH = "log.tcss"
    AUTO_FOCUS = "#log-view"
    """The lines, not the filter box: a key pressed as the screen opens (``1`` to
    switch away) must not be typed into the filter."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("l", "next_level", "Level"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("a", "audit", "Audit trail"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.matcher: Matcher | None = None
        """The filter in force (``None``: every line)."""
        self.level = ""
        """The least level shown (one of :data:`LEVELS`; "": every line)."""
        self.wrap = False
        """Long lines go on over the next lines (else they are cut at the edge; scroll sideways)."""
        self._wrap_width = 0
        self.shown = 0
        """Lines written to the view since it was last filled from the ring."""
        self._pending: deque[tuple[int, str]] = deque(maxlen=MAX_LINES)
        self._shown_upto = 0
        self._lock = threading.Lock()
        self._armed = False
        self._stale = False
        self._visible = True

    @property
    def ring(self) -> LogRing:
        """The app's ring of recent lines."""
        return self.notifier.log_ring

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with Horizontal(id="log-filter-row"):
            yield Static("filter", id="log-filter-label")
            yield Input(
                placeholder="/ to type: words or key=value, e.g. message=123",
                compact=True,
                id="log-filter",
            )
        yield LogView(max_lines=MAX_LINES, id="log-view")
        yield Static(id="log-status")
        # Compact like the other screens: every key fits in 80 columns, and the footer
        # does not restyle each key when it recomposes on a screen switch.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.ring.add_listener(self._on_line)
        self.render_from_ring()

    def on_unmount(self) -> None:
        self.ring.remove_listener(self._on_line)

    def on_screen_suspend(self) -> None:
        self._visible = False

    def on_screen_resume(self) -> None:
        self._visible = True
        if self._stale:
            self.render_from_ring()

    # --- new lines, from any thread ------------------------------------------------

    def _on_line(self, number: int, line: str) -> None:
        # Runs inside logging on any thread: append and, for the first line of
        # a batch, arm one flush on the loop. Nothing here may log.
        with self._lock:
            self._pending.append((number, line))
            if self._armed:
                return
            self._armed = True
        # post_message is thread-safe, and the handler runs in the screen's own
        # context (a bare loop callback would lack Textual's active app).
        self.post_message(LogLinesWaiting())

    def on_log_lines_waiting(self, _message: LogLinesWaiting) -> None:
        self.set_timer(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write the lines gathered since the last flush (tests call it directly)."""
        with self._lock:
            # A line can reach the listener after a snapshot already showed it.
            lines = [line for number, line in self._pending if number > self._shown_upto]
            self._pending.clear()
            self._armed = False
        if not lines:
            return
        if not self._visible:
            # Nobody looks: the ring has them; fill from it when the screen shows again.
            self._stale = True
            return
        self._write(lines)

    # --- showing ----------------------------------------------------------------------

    def render_from_ring(self) -> None:
        """Fill the view from the ring through the current filter."""
        with self._lock:
            # Lines the listener has buffered are in the snapshot too.
            self._pending.clear()
            lines, self._shown_upto = self.ring.numbered_snapshot()
        self._stale = False
        log_view = self.query_one(Log)
        log_view.clear()
        self.shown = 0
        self._write(lines)

    def _write(self, lines: Iterable[str]) -> None:
        matcher = self.matcher
        least = _RANK.get(self.level, 0)
        matching = [
            line
            for line in lines
            if (matcher is None or matcher(line)) and (least == 0 or level_of(line) >= least)
        ]
        if matching:
            source, shown = self.notifier.log_zone, self.notifier.display_tz
            self.query_one(Log).write_lines(
                self._fit([compact(line, source, shown) for line in matching[-MAX_LINES:]])
            )
            self.shown += len(matching)
        self._show_status()

    def _show_status(self) -> None:
        filter_text = self.query_one(Input).value.strip()
        shown = min(self.shown, MAX_LINES)
        noun = "line" if shown == 1 else "lines"
        if filter_text or self.level:
            text = Text(f"{shown:,} matching {noun}")
            if filter_text:
                text.append_text(Text.assemble(("  filter: ", "dim"), filter_text))
            if self.level:
                text.append_text(Text.assemble(("  level: ", "dim"), f"{self.level} and up"))
        else:
            text = Text(f"{shown:,} {noun}")
        now = self.notifier.clock().astimezone(self.notifier.display_tz)
        text.append(f"  times in {now.tzname()}", "dim")
        if self.wrap:
            text.append("  wrapped", "dim")
        self.query_one("#log-status", Static).update(text)

    # --- filtering ----------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        self.matcher = compile_filter(event.value)
        self.render_from_ring()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(Log).focus()

    def action_focus_filter(self) -> None:
        """Put the cursor in the filter box."""
        self.query_one(Input).focus()

    def _fit(self, lines: list[str]) -> list[str]:
        """With wrap on, each line as the pieces that fit the view (Log never wraps itself)."""
        if not self.wrap:
            return lines
        view = self.query_one(Log)
        self._wrap_width = width = max(20, view.scrollable_content_region.width - 1)
        pieces: list[str] = []
        for line in lines:
            # Continuations are indented past the time, so each entry still starts at the edge.
            pieces += textwrap.wrap(line, width, subsequent_indent=" " * 9) or [""]
        return pieces

    def on_resize(self) -> None:
        if (
            self.wrap
            and self.query_one(Log).scrollable_content_region.width - 1 != self._wrap_width
        ):
            self.render_from_ring()

    def action_toggle_wrap(self) -> None:
        """Wrap long lines, or cut them at the edge again."""
        self.wrap = not self.wrap
        self.render_from_ring()

    def action_next_level(self) -> None:
        """Show only lines of the next level and up (every line, INFO, WARNING, ERROR)."""
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]
        self.render_from_ring()

    def action_audit(self) -> None:
        """Who did what: the operators' actions from every surface (the store's audit trail)."""
        self.app.push_screen(AuditScreen())

    def action_clear_filter(self) -> None:
        """Empty the filter and the level (every line shows again) and go back to the lines."""
        filter_input = self.query_one(Input)
        if filter_input.value:
            filter_input.value = ""
        if self.level:
            self.level = ""
            self.render_from_ring()
        self.query_one(Log).focus()
