"""How the mailing detail screen draws its message rows and its status filter line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text

from notifier_tui.ui.widgets import stats_format as fmt

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from notifier_tui.core.records import MessageRecord


FILTER_KEYS: dict[str, str | None] = {
    "a": None,
    "p": "pending",
    "i": "sending",
    "s": "sent",
    "f": "failed",
    "x": "expired",
    "c": "cancelled",
}
"""The key that shows each status (``None``: all messages)."""


def message_row(message: MessageRecord, now: datetime, tz: tzinfo) -> tuple[object, ...]:
    """One table row; the first cell is the message id (the row key)."""
    return (
        message.id,
        Text("–", style="dim") if message.client_id is None else Text(str(message.client_id)),
        Text(message.phone),
        fmt.status(message.status),
        fmt.when(message.created_at, now, tz),
        fmt.when(message.sent_at, now, tz),
        fmt.count(message.attempts),
        # A next attempt only means something while the message waits to be sent.
        fmt.when(message.next_attempt_at, now, tz) if message.status == "pending" else fmt.NONE,
        fmt.plain(message.last_error, 48),
    )


def filter_line(counts: dict[str, int], total: int, current: str | None) -> Text:
    """``all 1,000  pending 10  sent 900 …``, each label's key letter underlined.

    The filter shown is reversed; every item can also be clicked.
    """
    line = Text()
    for key, status in FILTER_KEYS.items():
        label = "all" if status is None else status
        value = total if status is None else counts.get(status, 0)
        if status == current:
            style = "reverse bold"
        elif value == 0:
            style = "dim"
        else:
            style = fmt.STATUS_STYLE.get(label, "")
        item = Text(f" {label} {value:,} ", style=style)
        at = label.index(key) + 1
        item.stylize("underline", at, at + 1)
        item.stylize(Style.from_meta({"@click": f"screen.filter('{key}')"}))
        line.append_text(item)
    return line
