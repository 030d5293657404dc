"""How the statistics screens spell counts, statuses, states and times.

Shared by the overall table, the mailing detail and the live panel so one
status has one colour everywhere. Every coloured value also carries its word,
so the screens still read under ``NO_COLOR``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text

from notifier_tui.core.rules import ALL_STATUSES

STATUS_STYLE: dict[str, str] = {
    "pending": "",
    "sending": "cyan",
    "sent": "green",
    "failed": "bold red",
    "expired": "yellow",
    "cancelled": "dim",
}
"""The colour of each message status (every status in ``ALL_STATUSES`` has one)."""

STATE_STYLE: dict[str, str] = {
    "scheduled": "blue",
    "active": "bold green",
    "paused": "yellow",
    "finished": "",
    "cancelled": "dim",
}
"""The colour of each derived mailing state."""

NONE = Text("–", style="dim", justify="center")
"""What an empty cell shows (a time that has not happened, no error)."""


def count(value: int) -> Text:
    """A right-aligned count with thousands separators; zeros dimmed so figures stand out."""
    return Text(f"{value:,}", style="dim" if value == 0 else "", justify="right")


def status(value: str) -> Text:
    """A message status in its colour."""
    return Text(value, style=STATUS_STYLE.get(value, ""))


def state(value: str) -> Text:
    """A mailing state in its colour."""
    return Text(value, style=STATE_STYLE.get(value, ""))


def plain(value: str | None, limit: int | None = None) -> Text:
    """User text as a cell: never parsed as markup, one line, optionally cut with an ellipsis.

    DataTable reads ``str`` cells as Rich markup, so a text with ``[`` in it
    would be mangled or raise; a ``Text`` is shown as it is.
    """
    if not value:
        return Text("")
    line = " ".join(value.split())
    if limit is not None and len(line) > limit:
        line = line[: max(limit - 1, 0)] + "…"
    return Text(line)


def when(value: datetime | None, now: datetime, tz: tzinfo) -> Text:
    """A time in the display timezone: ``HH:MM:SS`` today, ``MM-DD HH:MM`` on other days."""
    if value is None:
        return NONE
    local = value.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return Text(f"{local:%H:%M:%S}")
    return Text(f"{local:%m-%d %H:%M}")


def seconds_until(target: datetime, now: datetime) -> str:
    """``in 12 s`` / ``in 3 min`` / ``now``: how soon ``target`` comes, for probe times."""
    left = (target - now).total_seconds()
    if left <= 0.5:
        return "now"
    if left < 120:
        return f"in {left:.0f} s"
    return f"in {left / 60:.0f} min"


def status_counts(by_status: dict[str, int]) -> dict[str, int]:
    """Every status with its count, zeros included, in lifecycle order."""
    return {name: by_status.get(name, 0) for name in ALL_STATUSES}


def period(start: datetime, end: datetime, tz: tzinfo) -> str:
    """``03-02 09:00–18:00 MSK`` (one day) or ``03-02 09:00 → 03-05 18:00 MSK``."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() == b.date():
        return f"{a:%m-%d %H:%M}–{b:%H:%M} {b.tzname()}"
    return f"{a:%m-%d %H:%M} → {b:%m-%d %H:%M} {b.tzname()}"
