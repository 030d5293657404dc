"""What the command palette (ctrl+p) offers: the screens, and every key the screen has now.

The current screen's keys come from its active bindings, so the palette and
the footer never disagree: whatever a key does, the palette can do by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.dom import DOMNode
from textual.screen import Screen

from notifier_tui.ui.widgets.header import SCREENS

if TYPE_CHECKING:
    from notifier_tui.ui.app import NotifierApp

_NOT_OFFERED = {"quit", "command_palette"}
"""Actions Textual's own palette entries already cover."""

_TITLES = {
    "ClientsScreen": "Clients",
    "MailingsScreen": "Mailings",
    "StatsScreen": "Stats",
    "MailingDetailScreen": "Mailing details",
    "LogScreen": "Log",
}


def palette_commands(app: NotifierApp, screen: Screen[Any]) -> Iterable[SystemCommand]:
    """The app's own palette entries for ``screen`` (Textual's come before them)."""
    for key, mode, label in SCREENS:
        yield SystemCommand(
            f"{label} screen", f"Switch to {label.lower()} ({key})", _switch(app, mode)
        )
    yield SystemCommand("Help: every key", "All keys of all screens (?)", app.action_help)
    title = _TITLES.get(type(screen).__name__, "")
    seen: set[str] = set()
    for key, active in screen.active_bindings.items():
        binding = active.binding
        action = binding.action
        if (
            not active.enabled
            or not binding.description
            or action in seen
            or action.startswith(("switch_mode", "app.switch_mode"))
            or action.split("(")[0] in _NOT_OFFERED | {"help"}
        ):
            continue
        seen.add(action)
        shown = binding.key_display or app.get_key_display(binding)
        name = f"{title}: {binding.description}" if title else binding.description
        yield SystemCommand(name, f"key {shown or key}", _run(app, action, active.node))


def _switch(app: NotifierApp, mode: str) -> Callable[[], object]:
    return lambda: app.switch_mode(mode)


def _run(app: NotifierApp, action: str, node: DOMNode) -> Callable[[], object]:
    return lambda: app.run_action(action, node)


def writable_dir(candidates: Sequence[Path]) -> Path:
    """The first of ``candidates`` that exists (or can be made) and can be written."""
    for candidate in candidates:
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    return Path.cwd()
