"""Plain-text rendering for the command line: aligned tables and key/value blocks.

No colours and no Rich or Textual: the output must read well in a pipe, in a
log and over SSH, and the command line must start fast. Instants are shown in
the display zone (``display_timezone``, default the machine's), each labelled
with the zone's abbreviation at that instant (``2030-07-01 09:00 CEST``), so a
DST change inside a table is visible; JSON output keeps ISO 8601 with an offset.

Every cell and value goes through :func:`~notifier_tui.cli.terminal.printable`:
a line break in a mailing text shows as ``\n`` and an ESC as ``\x1b``, so no
stored text can move the cursor, clear the screen or retitle the window.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo

from notifier_tui.cli.terminal import printable
from notifier_tui.core.records import ClientRecord, MailingRecord, MessageRecord
from notifier_tui.core.rules import ALL_STATUSES
from notifier_tui.core.stats import MailingDetail, OverallStats, full_counts
from notifier_tui.settings.zones import zone_name

# Longest cell shown for free text (mailing text, last error); the JSON has it whole.
MAX_CELL = 48


def width(text: str) -> int:
    """Terminal columns ``text`` takes: wide (CJK, emoji) characters take two."""
    if text.isascii():  # nearly every cell: phones, ids, times
        return len(text)
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def one_line(text: str, limit: int = MAX_CELL) -> str:
    """Escape line breaks and controls, collapse runs of spaces, cut to ``limit`` columns."""
    flat = " ".join(printable(text).split())
    if width(flat) <= limit:
        return flat
    out, used = [], 0
    for ch in flat:
        used += width(ch)
        if used > limit - 1:
            break
        out.append(ch)
    return "".join(out) + "…"


def local(value: datetime | None, zone: tzinfo, *, seconds: bool = False) -> str:
    """An instant in ``zone`` with the zone's abbreviation then, or ``-`` for none."""
    if value is None:
        return "-"
    try:
        shown = value.astimezone(zone)
    except (OverflowError, ValueError):  # year 1 or 9999 pushed out of range by the offset
        shown = value
    text = shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {shown.tzname() or zone_name(zone, value)}"


def offset(value: datetime, zone: tzinfo) -> str:
    """``UTC+02:00``: the offset of ``zone`` at ``value``."""
    delta = value.astimezone(zone).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, right: Iterable[int] = ()
) -> str:
    """Columns padded to their widest cell; the columns in ``right`` align right (numbers)."""
    cells = [[printable(str(c)) for c in headers]] + [
        [printable(str(c)) for c in row] for row in rows
    ]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    right_cols = set(right)
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - width(cell))
            parts.append(pad + cell if i in right_cols else cell + pad)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def pairs(items: Sequence[tuple[str, object]]) -> str:
    """``key: value`` lines with the values aligned."""
    pad = max(width(k) for k, _ in items) + 1
    return "\n".join(f"{k + ':':<{pad}} {printable(str(v))}" for k, v in items)


def _any(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "any"


# --- clients -------------------------------------------------------------------


def clients(records: Sequence[ClientRecord], total: int | None = None) -> str:
    """A client table, with a footer when it shows only part of ``total``."""
    if not records:
        return "no clients"
    out = table(
        ("ID", "PHONE", "OPERATOR", "TAG", "TIMEZONE"),
        ((c.id, c.phone, c.operator_code, one_line(c.tag), c.timezone) for c in records),
        right=(0,),
    )
    if total is not None and total > len(records):
        out += f"\n({len(records)} of {total} clients shown; use --limit to see more)"
    return out


# --- mailings ------------------------------------------------------------------


def mailings(records: Sequence[MailingRecord], zone: tzinfo) -> str:
    """A mailing table: state, period, filter and progress (final of total)."""
    if not records:
        return "no mailings"
    return table(
        ("ID", "STATE", "START", "END", "WINDOW", "OPERATORS", "TAGS", "DONE", "TEXT"),
        (
            (
                m.id,
                m.state,
                local(m.start_at, zone),
                local(m.end_at, zone),
                m.window or "-",
                one_line(_any(m.operator_codes), 20),
                one_line(_any(m.tags), 20),
                f"{m.final}/{m.total}",
                one_line(m.text),
            )
            for m in records
        ),
        right=(0, 7),
    )


def mailing(m: MailingRecord, zone: tzinfo) -> str:
    """One mailing in full: every field, its counts, and its whole text."""
    counts = ", ".join(f"{s} {n}" for s, n in full_counts(m.by_status).items() if n) or "none yet"
    return (
        pairs(
            [
                ("id", m.id),
                ("state", m.state),
                (
                    "start",
                    f"{local(m.start_at, zone)} ({zone_name(zone, m.start_at)},"
                    f" {offset(m.start_at, zone)})",
                ),
                ("end", f"{local(m.end_at, zone)} ({offset(m.end_at, zone)})"),
                ("window", f"{m.window} (each client's local time)" if m.window else "any time"),
                ("operators", _any(m.operator_codes)),
                ("tags", _any(m.tags)),
                ("paused", "yes" if m.paused else "no"),
                ("cancelled", "yes" if m.cancelled else "no"),
                ("messages", f"{m.total} ({counts})"),
                ("created", local(m.created_at, zone)),
            ]
        )
        + "\ntext:\n"
        # The whole text, one line of it per line; tabs and other controls escaped.
        + "\n".join("  " + printable(line) for line in m.text.split("\n"))
    )


# --- statistics ----------------------------------------------------------------

_STATUS_HEADERS = tuple(s.upper() for s in ALL_STATUSES)


def overall(stats: OverallStats, zone: tzinfo) -> str:
    """Every mailing with its counts by status, and a totals row."""
    rows: list[Sequence[object]] = []
    for m in stats.mailings:
        counts = full_counts(m.by_status)
        rows.append(
            (
                m.id,
                m.state,
                local(m.start_at, zone),
                local(m.end_at, zone),
                m.total,
                *counts.values(),
                m.segments_sent,
                one_line(m.text, 32),
            )
        )
    totals = full_counts(stats.by_status)
    rows.append(("", "total", "", "", stats.total, *totals.values(), stats.segments_sent, ""))
    # SEGMENTS: SMS segments billed for the sent messages (core/segments.py).
    numeric = range(4, 6 + len(ALL_STATUSES))
    return table(
        ("ID", "STATE", "START", "END", "TOTAL", *_STATUS_HEADERS, "SEGMENTS", "TEXT"),
        rows,
        right=(0, *numeric),
    )


def detail(d: MailingDetail, status: str | None, zone: tzinfo) -> str:
    """One mailing's counts by status and its messages (one page of them)."""
    m = d.mailing
    head = pairs(
        [
            ("mailing", f"{m.id} ({m.state})"),
            ("period", f"{local(m.start_at, zone)} - {local(m.end_at, zone)}"),
            ("text", one_line(m.text, 60)),
            (
                "sms",
                f"{m.segments.segments} segment(s) per message ({m.segments.encoding}),"
                f" {m.segments_sent} segment(s) sent",
            ),
        ]
    )
    counts = table(
        ("STATUS", "COUNT"),
        [*full_counts(d.by_status).items(), ("total", m.total)],
        right=(1,),
    )
    if not d.messages:
        body = f"no {status} messages" if status else "no messages"
    else:
        body = _messages(d.messages, zone)
        if d.matching > len(d.messages):
            body += (
                f"\n({len(d.messages)} of {d.matching} messages shown;"
                " use --limit/--offset to page)"
            )
    return f"{head}\n\n{counts}\n\n{body}"


def _messages(records: Sequence[MessageRecord], zone: tzinfo) -> str:
    return table(
        ("ID", "CLIENT", "PHONE", "STATUS", "CREATED", "SENT", "ATTEMPTS", "LAST ERROR"),
        (
            (
                r.id,
                "-" if r.client_id is None else r.client_id,
                r.phone,
                r.status,
                local(r.created_at, zone, seconds=True),
                local(r.sent_at, zone, seconds=True),
                r.attempts,
                one_line(r.last_error or "-"),
            )
            for r in records
        ),
        right=(0, 1, 6),
    )


# --- settings ------------------------------------------------------------------


def settings(rows: Sequence[tuple[str, str, str]]) -> str:
    """``config show``: name, value (secrets already masked) and where it came from."""
    return table(("SETTING", "VALUE", "SOURCE"), rows)
