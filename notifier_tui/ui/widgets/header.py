"""The two-line header every screen shows at the top: the screens, then the status.

The first line names the four screens with their keys (the current one
highlighted; each can be clicked) and the time in the display timezone. The
second says whether the gateway answers and which process sends (this one,
a daemon elsewhere, nobody), from the app's once-a-second
:class:`SenderSnapshot`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static, TextArea

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
    """``gateway: ok`` and its colour; words, not only colour, so NO_COLOR still reads.

    Down or degraded, it says what is wrong when a recent request said so:
    ``gateway: unreachable: name not resolved``, ``gateway: timing out``.
    """
    if snapshot is None:
        return Text.assemble("gateway: ", ("…", "dim"))
    problem = snapshot.gateway_problem
    if snapshot.health is GatewayHealth.UNKNOWN:
        word = "no requests yet" if snapshot.sending else "n/a here"
    elif snapshot.health is GatewayHealth.DOWN and problem:
        word = problem  # "unreachable: name not resolved" says more than "down"
    elif snapshot.health is GatewayHealth.DEGRADED and problem:
        word = f"degraded, {problem}"
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


SCREENS: tuple[tuple[str, str, str], ...] = (
    ("1", "clients", "Clients"),
    ("2", "mailings", "Mailings"),
    ("3", "stats", "Stats"),
    ("4", "log", "Log"),
)
"""``(key, mode, label)`` of each screen, in tab order."""


TYPING_HINT = "digits type text"
"""Shown in place of the clock while a text field has focus: 1-4 type, not switch."""


def tabs_text(current: str, *, typing: bool = False) -> Text:
    """`` 1 Clients  2 Mailings …``: the current screen reversed, every tab clickable.

    While a text field has focus (``typing``) the keys are dimmed (the header
    says instead of the clock that digits type text); a click still switches.
    """
    line = Text()
    for key, mode, label in SCREENS:
        tab = Text.assemble((f" {key} ", "dim" if typing else "bold"), f"{label} ")
        tab.stylize("reverse" if mode == current else "")
        tab.stylize(Style.from_meta({"@click": f"app.switch_mode('{mode}')"}))
        line.append_text(tab)
        line.append(" ")
    return line


def clock_text(now: datetime, tz: tzinfo) -> str:
    local = now.astimezone(tz)
    return f"{local:%H:%M:%S} {local.tzname()}"


class StatusHeader(NotifierNode, Vertical):
    """The screens, the time, gateway health and who sends. First in a screen's ``compose``."""

    DEFAULT_CSS = """
    StatusHeader {
        dock: top;
        height: 2;
        background: $panel;
        color: $foreground;
    }
    StatusHeader > Horizontal {
        height: 1;
    }
    StatusHeader #status-title {
        width: auto;
        padding: 0 1;
        background: $primary;
        color: $text;
        text-style: bold;
    }
    StatusHeader #status-tabs {
        width: 1fr;
        link-style: none;
        link-style-hover: bold;
        padding: 0 0 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StatusHeader #status-line {
        width: 1fr;
        padding: 0 1;
        background: $boost;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StatusHeader #status-clock {
        width: auto;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="status-top"):
            yield Static("notifier", id="status-title")
            yield Static(id="status-tabs")
            yield Static(id="status-clock")
        yield Static(id="status-line")

    def on_mount(self) -> None:
        app = self.notifier
        # The app updates both once a second (or on a lease change); nothing polls here.
        self.watch(app, "snapshot", self._update, init=False)
        self.watch(app, "takeover_offered", self._update, init=False)
        # Focus moving into or out of a text field changes what the digits do.
        self.watch(self.screen, "focused", self._update, init=False)
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
        typing = isinstance(self.screen.focused, Input | TextArea)
        self.query_one("#status-tabs", Static).update(tabs_text(app.current_mode, typing=typing))
        clock = self.query_one("#status-clock", Static)
        if typing:
            clock.update(Text(TYPING_HINT, style="italic yellow"))
        else:
            clock.update(clock_text(app.clock(), app.display_tz))
