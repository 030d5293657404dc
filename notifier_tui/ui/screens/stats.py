"""Statistics screen (placeholder until the live tables land)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static


class StatsScreen(Screen[None]):
    """Every mailing with its counts by status."""

    def compose(self) -> ComposeResult:
        yield Static("Statistics", id="stats-placeholder")
        yield Footer()
