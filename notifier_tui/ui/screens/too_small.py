"""Shown instead of the UI while the terminal is smaller than the layouts allow."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

MIN_SIZE = (80, 24)
"""The smallest terminal (columns, rows) every screen is laid out for."""


class TooSmallScreen(Screen[None]):
    """Says how big the terminal is and how big it must be; the app pops it once it fits."""

    CSS_PATH = "too_small.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static(id="too-small-text")

    def on_mount(self) -> None:
        self._describe()

    def on_resize(self) -> None:
        self._describe()

    def _describe(self) -> None:
        width, height = self.app.size
        self.query_one("#too-small-text", Static).update(
            f"Terminal too small: {width}x{height}.\n"
            f"notifier-tui needs at least {MIN_SIZE[0]}x{MIN_SIZE[1]}.\n\n"
            "Enlarge the window, or press q to quit."
        )
