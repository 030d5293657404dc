"""The live figures of sending: rate, latency, errors, breaker, who sends.

Everything comes from one immutable :class:`SenderSnapshot` (the app refreshes
it about once a second, from the sender or, when another process sends, from
the store) plus the pending count of the latest overall statistics. The panel
only formats; it reads nothing itself, so tests hand it any snapshot. Its
border says whose figures they are; the charts of the same snapshot over time
are ui/widgets/charts.py's.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from notifier_tui.core.events import BreakerState, SenderSnapshot
from notifier_tui.ui.widgets.charts import scope, span_label
from notifier_tui.ui.widgets.stats_format import seconds_until

ERROR_RATE_WINDOW = 60.0
"""Seconds the snapshot's error rate covers (core/sending/livestats.py's default)."""

_BREAKER_STYLE = {
    BreakerState.CLOSED: "green",
    BreakerState.HALF_OPEN: "bold yellow",
    BreakerState.OPEN: "bold red",
}


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.0f} ms"


def rate_line(snapshot: SenderSnapshot) -> Text:
    """``send rate 42.0 msg/s  peak 97.0 over 5 min │ errors 2.3% over 1 min``."""
    peak = max(snapshot.rate_history, default=0.0)
    span = span_label(min(snapshot.series_window, len(snapshot.rate_history) or 1))
    errors = f"{snapshot.error_rate * 100:.1f}%"
    return Text.assemble(
        ("send rate ", "dim"),
        (f"{snapshot.rate:,.1f}", "bold"),
        " msg/s",
        ("  peak ", "dim"),
        f"{peak:,.1f}",
        (f" over {span}", "dim"),
        (" │ errors ", "dim"),
        (errors, "bold red" if snapshot.error_rate >= 0.05 else ""),
        (f" over {span_label(ERROR_RATE_WINDOW)}", "dim"),
    )


def gateway_line(snapshot: SenderSnapshot, now: datetime) -> Text:
    """Latency percentiles of the answered requests, and the breaker with its next probe."""
    breaker = Text.assemble(
        ("breaker ", "dim"), (str(snapshot.breaker), _BREAKER_STYLE[snapshot.breaker])
    )
    if snapshot.breaker != BreakerState.CLOSED and snapshot.next_probe_at is not None:
        breaker.append(f", probe {seconds_until(snapshot.next_probe_at, now)}")
    # Latency is measured on answers only: before the first, a dash would read as 0 ms.
    if snapshot.latency_p50 is None:
        latency = Text("no answers yet", style="dim")
    else:
        latency = Text(f"p50 {_ms(snapshot.latency_p50)}  p95 {_ms(snapshot.latency_p95)}")
    return Text.assemble(("latency ", "dim"), latency, (" │ ", "dim"), breaker)


def queue_line(snapshot: SenderSnapshot, pending: int | None) -> Text:
    """Messages in flight and waiting, and the sender's running totals."""
    return Text.assemble(
        ("in flight ", "dim"),
        f"{snapshot.in_flight:,}",
        ("  pending ", "dim"),
        "…" if pending is None else f"{pending:,}",
        # The one figure of the line that is always the store's, whoever sends.
        (" in store", "dim"),
        (" │ sent ", "dim"),
        f"{snapshot.sent_total:,}",
        ("  failed ", "dim"),
        f"{snapshot.failed_total:,}",
        ("  retries ", "dim"),
        f"{snapshot.retries_total:,}",
    )


def sender_line(snapshot: SenderSnapshot) -> Text:
    """Who sends, and the credentials error that stopped sending if there is one."""
    if snapshot.sending:
        who = Text("this process", style="bold")
    elif snapshot.holder:
        who = Text(snapshot.holder)
    else:
        who = Text("nobody", style="yellow")
    line = Text.assemble(("sending: ", "dim"), who)
    if not snapshot.sending and snapshot.figures_of:
        # The figures above are another process's, read from the store: say whose.
        line.append(" │ ", "dim")
        line.append(f"figures of {snapshot.figures_of}", "italic")
    if snapshot.credentials_error:
        line.append(" │ ", "dim")
        line.append(f"credentials rejected: {snapshot.credentials_error}", "bold red")
    if len(snapshot.workers) > 1:
        # Several sender processes on the store: each one's host, pid, rate and
        # breaker, the leader first (read from the store's worker registry).
        line.append(" │ ", "dim")
        line.append(workers_text(snapshot))
    return line


def workers_text(snapshot: SenderSnapshot) -> str:
    """``2 workers: pid 11 on h 30.0/s leader, pid 12 on h standby``."""
    parts = []
    for w in snapshot.workers:
        what = f"{w.rate:,.1f}/s" if w.sending else "standby"
        if w.leader:
            what += " leader"
        if w.breaker != BreakerState.CLOSED:
            what += f" breaker {w.breaker}"
        parts.append(f"pid {w.pid} on {w.host} {what}")
    return f"{len(parts)} workers: " + ", ".join(parts)


class LivePanel(Vertical):
    """The send rate and the gateway's live figures; "no sender data yet" without any."""

    DEFAULT_CSS = """
    LivePanel {
        height: auto;
        border: round $primary 50%;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    LivePanel Static {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    LivePanel.-empty .live-figures {
        display: none;
    }
    LivePanel #live-empty {
        display: none;
        color: $text-muted;
    }
    LivePanel.-empty #live-empty {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = "Live"
        self.snapshot: SenderSnapshot | None = None
        """The figures shown now."""
        self.pending: int | None = None
        """Pending messages in the store, from the latest overall statistics."""

    def compose(self) -> ComposeResult:
        yield Static("no sender data yet", id="live-empty")
        yield Static(id="live-rate", classes="live-figures")
        yield Static(id="live-gateway", classes="live-figures")
        yield Static(id="live-queue", classes="live-figures")
        yield Static(id="live-sender", classes="live-figures")

    def on_mount(self) -> None:
        self.set_class(True, "-empty")

    def show(self, snapshot: SenderSnapshot | None, now: datetime, pending: int | None) -> None:
        """Show ``snapshot`` (``None``: nothing known yet) as of ``now``.

        Args:
            snapshot: the latest live figures, or ``None`` before the first.
            now: the app's clock, for how soon the breaker probes.
            pending: pending messages from the overall statistics, ``None`` if not read yet.
        """
        self.snapshot, self.pending = snapshot, pending
        self.set_class(snapshot is None, "-empty")
        if snapshot is None:
            self.border_title = "Live"
            return
        self.border_title = f"Live · {scope(snapshot)}"
        self.query_one("#live-rate", Static).update(rate_line(snapshot))
        self.query_one("#live-gateway", Static).update(gateway_line(snapshot, now))
        self.query_one("#live-queue", Static).update(queue_line(snapshot, pending))
        self.query_one("#live-sender", Static).update(sender_line(snapshot))
