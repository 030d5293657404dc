"""The one-line status header every screen shows at the top.

It says three things at a glance: whether the gateway answers, which process
sends (this one, a daemon elsewhere, nobody) and the current time, all from
the app's once-a-second :class:`SenderSnapshot` and the app's clock.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from notifier_tui.core.events import GatewayHealth, SenderSnapshot
from notifier_tui.ui.node import NotifierNode

_HEALTH_STYLE = {
    GatewayHealth.OK: "bold green",
    GatewayHealth.DEGRADED: "bold yellow",
    GatewayHealth.DOWN: "bold red",
    GatewayHealth.CREDENTIALS: "bold red",
    GatewayHealth.NOT_CONFIGURED: "yellow",
    GatewayHealth.UNKNOWN: "dim",
}


def health_text(snapshot: SenderSnapshot | None) -> Text:
    """``gateway: ok`` and its colour; words, not only colour, so NO_COLOR still reads."""
    if snapshot is None:
        return Text.assemble("gateway: ", ("…", "dim"))
    if snapshot.health is GatewayHealth.UNKNOWN:
        word = "no requests yet" if snapshot.sending else "n/a here"
    else:
        word = str(snapshot.health)
    return Text.assemble("gateway: ", (word, _HEALTH_STYLE[snapshot.health]))


def sending_text(snapshot: SenderSnapshot | None, *, has_sender: bool, takeover: bool) -> Text:
    """Who sends: this process, another one, nobody, or paused on bad credentials."""
    if snapshot is not None and snapshot.credentials_error is not None:
        return Text("paused: token rejected", style="bold red")
    if snapshot is not None and snapshot.sending:
        return Text("sending: this process", style="bold")
    if takeover:  # newer than the snapshot's holder, which may be a second old
        return Text("sending: nobody (t: take over)", style="bold yellow")
    if snapshot is not None and snapshot.holder:
        return Text(f"sending: {snapshot.holder}")
    if not has_sender:
        return Text("sending: nobody (view only)", style="yellow")
    return Text("sending: starting…", style="dim")


def clock_text(now: datetime, tz: tzinfo) -> str:
    local = now.astimezone(tz)
    return f"{local:%H:%M:%S} {local.tzname()}"


class StatusHeader(NotifierNode, Horizontal):
    """Gateway health, who sends, and the time. Put it first in a screen's ``compose``."""

    DEFAULT_CSS = """
    StatusHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    StatusHeader > #status-title {
        width: auto;
        padding: 0 1;
        background: $primary;
        color: $text;
        text-style: bold;
    }
    StatusHeader > #status-line {
        width: 1fr;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StatusHeader > #status-clock {
        width: auto;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("notifier", id="status-title")
        yield Static(id="status-line")
        yield Static(id="status-clock")

    def on_mount(self) -> None:
        app = self.notifier
        # The app updates both once a second (or on a lease change); nothing polls here.
        self.watch(app, "snapshot", self._update, init=False)
        self.watch(app, "takeover_offered", self._update, init=False)
        self._update()

    def _update(self, _value: object = None) -> None:
        app = self.notifier
        snapshot = app.snapshot
        line = Text.assemble(
            health_text(snapshot),
            ("  │  ", "dim"),
            sending_text(
                snapshot, has_sender=app.sender is not None, takeover=app.takeover_offered
            ),
        )
        self.query_one("#status-line", Static).update(line)
        self.query_one("#status-clock", Static).update(clock_text(app.clock(), app.display_tz))
