"""``?``: every key of every screen on one page, read from the screens' own bindings.

The lists are built from each screen's ``BINDINGS`` (and the tables' and the
app's), so the help can never drift from what the keys really do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from notifier_tui.ui.screens.audit import AuditScreen
from notifier_tui.ui.screens.clients import ClientsScreen
from notifier_tui.ui.screens.log import LogScreen, LogView
from notifier_tui.ui.screens.mailing_detail import FILTER_KEYS, MailingDetailScreen
from notifier_tui.ui.screens.mailings import MailingsScreen
from notifier_tui.ui.screens.stoplist import StopListScreen
from notifier_tui.ui.widgets.live_table import MailingTable

EVERY_TABLE: list[tuple[str, str]] = [
    ("↑ ↓", "previous / next row"),
    ("PgUp PgDn", "a screenful up / down"),
    ("Home g", "first row"),
    ("End G", "last row"),
]
"""What every table does with the keys DataTable already has, plus LiveTable's."""

DIALOGS: list[tuple[str, str]] = [
    ("ctrl+s", "save the form"),
    ("enter", "save (in a one-line field) / import"),
    ("esc", "cancel / close"),
    ("y n", "answer a question (n and esc: no)"),
]


def _pairs(bindings: Iterable[BindingType], app_display: dict[str, str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in bindings:
        if not isinstance(item, Binding) or not item.description:
            continue
        keys = item.key_display or " ".join(app_display.get(k, k) for k in item.key.split(","))
        pairs.append((keys, item.description))
    return pairs


def _grouped(bindings: Iterable[BindingType], app_display: dict[str, str]) -> list[tuple[str, str]]:
    """Like :func:`_pairs`, but the keys of one footer group share a line, as in the footer.

    ``[ ] :  Prev page / Next page / Go to page N``.
    """
    rows: list[tuple[str, str]] = []
    last_group: Binding.Group | None = None
    for item in bindings:
        pairs = _pairs([item], app_display)
        if not pairs or not isinstance(item, Binding):
            continue
        (key, does), group = pairs[0], item.group
        if group is not None and group is last_group:
            keys, what = rows[-1]
            rows[-1] = (f"{keys} {key}", f"{what} / {does}")
        else:
            rows.append((key, does))
        last_group = group
    return rows


_KEY_NAMES = {
    "slash": "/",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "question_mark": "?",
    "escape": "esc",
}


def sections(app_bindings: Iterable[BindingType]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(title, [(keys, what), ...])`` for every part of the app."""
    names = _KEY_NAMES
    everywhere = [("1 2 3 4", "Clients, Mailings, Stats, Log (or click the tab)")]
    everywhere += [p for p in _pairs(app_bindings, names) if p[0] not in ("1", "2", "3", "4")]
    everywhere.append(("ctrl+p", "command palette: every action by name"))
    return [
        ("Everywhere", everywhere),
        ("Every table", EVERY_TABLE),
        (
            "Clients (1)",
            [
                *_grouped(ClientsScreen.BINDINGS, names),
                ("click", "a column's name: sort by it (again: the other way)"),
                ("enter", "edit the client"),
                ("esc", "clear the search"),
            ],
        ),
        (
            "Mailings (2)",
            _pairs(MailingTable.BINDINGS, names) + _pairs(MailingsScreen.BINDINGS, names),
        ),
        ("Stats (3)", _pairs(MailingTable.BINDINGS, names)),
        (
            "Mailing details",
            [
                (keys, f"show {what} messages" if keys in FILTER_KEYS else what)
                for keys, what in _pairs(MailingDetailScreen.BINDINGS, names)
            ],
        ),
        ("Log (4)", _pairs(LogScreen.BINDINGS, names) + _pairs(LogView.BINDINGS, names)),
        ("Audit trail (a on the log)", _pairs(AuditScreen.BINDINGS, names)),
        ("Stop list (o)", _pairs(StopListScreen.BINDINGS, names)),
        ("Dialogs", DIALOGS),
    ]


def help_table(parts: list[tuple[str, list[tuple[str, str]]]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column()
    for title, pairs in parts:
        table.add_row("", Text(title, style="bold underline"))
        for keys, what in pairs:
            table.add_row(keys, what)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    """All keys; ``esc``, ``q`` or ``?`` closes it."""

    CSS_PATH = "../dialogs/dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Label("Keys", classes="dialog-title")
            yield Static(help_table(sections(self.app.BINDINGS)), id="help-keys")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
