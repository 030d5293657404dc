"""Log screen (placeholder until the live log lands)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static


class LogScreen(Screen[None]):
    """The application's recent log lines."""

    def compose(self) -> ComposeResult:
        yield Static("Log", id="log-placeholder")
        yield Footer()
