"""The daily report: what the mailings of the last day did, as a dataclass and plain text.

Which mailings: those whose ``[start_at, end_at]`` overlaps the report's
period. No request starts outside that span (DESIGN rules 1 and 3), so every
mailing with message activity in the period is among them, and a mailing that
was scheduled in the period but did nothing (cancelled, empty audience) still
shows up, which is what its owner wants to see.

The period: the report *for day D* is the one due on D; it covers the local
wall-clock day that ends at ``report_time`` on D (from ``report_time`` on
D-1), in the report's timezone. Without a ``report_time`` it ends at midnight
starting D, that is, it covers calendar day D-1. A report for an ad-hoc
"last 24 hours" is available too (:func:`recent_report`).

Per mailing: its state now and its message counts by status (all its
messages, as ``stats`` shows them), plus how many of them were accepted by
the gateway inside the period. Totals add the mailings up. Gateway error
classes count the messages that have not gone out (``pending`` with a retry
ahead, ``failed``, ``expired``) by their ``error_class`` column, labelled as
:attr:`ErrorClass.label` says; the classes the sender and the store give
themselves ("not sent before end") are not gateway errors and are left out.

Everything is counted with SQL aggregates; no message row is loaded. The
``report_log`` table remembers the days whose report went out
(:func:`already_sent`, :func:`mark_sent`), so no day is reported twice, even
by a second process on the same store. Textual is never imported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from notifier_tui.core import rules
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.reasons import GATEWAY_CLASSES, ErrorClass
from notifier_tui.core.records import open_count
from notifier_tui.core.rules import ALL_STATUSES
from notifier_tui.core.store.sqlutil import execute

if TYPE_CHECKING:
    from notifier_tui.core.store import Store

_UNSENT_STATUSES = ("pending", "failed", "expired")
# Reasons the sender and the store write themselves ("not sent before end") are no
# gateway error: the gateway never refused those messages.
_GATEWAY_CLASSES = tuple(sorted(c.value for c in GATEWAY_CLASSES))

_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def parse_report_time(text: str) -> time:
    """``"08:30"`` -> ``time(8, 30)``.

    Raises:
        ValidationError: not a 24-hour ``HH:MM``.
    """
    m = _TIME.fullmatch(text.strip())
    if m is None:
        raise ValidationError("report_time", f"must be a 24-hour HH:MM like 08:00, got {text!r}")
    return time(int(m[1]), int(m[2]))


def parse_day(text: str) -> date:
    """``"2026-03-02"`` -> a date.

    Raises:
        ValidationError: not an ISO date ``YYYY-MM-DD``.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError("day", f"must be a date YYYY-MM-DD, got {text!r}") from None


def period_for_day(day: date, at: time, tz: tzinfo) -> tuple[datetime, datetime]:
    """The report period due on ``day`` at ``at``: from ``at`` the day before to ``at`` on it.

    Local wall-clock times, so a DST change makes that day 23 or 25 hours long.
    """
    end = datetime.combine(day, at, tzinfo=tz)
    return datetime.combine(day - timedelta(days=1), at, tzinfo=tz), end


def due_day(now: datetime, at: time, tz: tzinfo) -> date | None:
    """The local day whose report is due at ``now``: today once ``at`` has passed, else None."""
    local = now.astimezone(tz)
    return local.date() if local.time() >= at else None


@dataclass(frozen=True, slots=True)
class MailingSummary:
    """One mailing in the report."""

    id: int
    text: str
    start_at: datetime
    end_at: datetime
    state: str
    by_status: dict[str, int]
    """Every status, zeros included, in lifecycle order."""
    sent_in_period: int
    """Messages the gateway accepted inside the report period."""

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "start_at": self.start_at.isoformat(),
            "end_at": self.end_at.isoformat(),
            "state": self.state,
            "total": self.total,
            "by_status": dict(self.by_status),
            "sent_in_period": self.sent_in_period,
        }


@dataclass(frozen=True, slots=True)
class DailyReport:
    """The report for one day (see the module docstring for what is in it)."""

    day: date
    """The day the report is due on (the key in ``report_log``)."""
    timezone: str
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    mailings: tuple[MailingSummary, ...]
    totals: dict[str, int]
    """Message counts by status over the reported mailings, zeros included."""
    error_classes: dict[str, int] = field(default_factory=dict)
    """Unsent messages by gateway error class, largest first."""

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def sent_in_period(self) -> int:
        return sum(m.sent_in_period for m in self.mailings)

    def subject(self) -> str:
        return (
            f"notifier-tui daily report {self.day.isoformat()}: {len(self.mailings)} mailing(s),"
            f" {self.sent_in_period} sent, {self.totals.get('failed', 0)} failed"
        )

    def to_json(self) -> dict[str, Any]:
        zone = ZoneInfo(self.timezone)
        return {
            "day": self.day.isoformat(),
            "timezone": self.timezone,
            # In the report's zone, so the offset says which local day is meant.
            "period_start": self.period_start.astimezone(zone).isoformat(),
            "period_end": self.period_end.astimezone(zone).isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "mailings": [m.to_json() for m in self.mailings],
            "totals": {
                "total": self.total,
                "by_status": dict(self.totals),
                "sent_in_period": self.sent_in_period,
            },
            "error_classes": dict(self.error_classes),
        }

    def to_text(self) -> str:
        """The report as plain text: the email body and ``report --print``."""
        zone = ZoneInfo(self.timezone)

        def local(value: datetime) -> str:
            return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

        lines = [
            f"notifier-tui daily report for {self.day.isoformat()}",
            f"Period: {local(self.period_start)} to {local(self.period_end)} ({self.timezone})",
            f"Generated: {local(self.generated_at)}",
            "",
            f"Mailings: {len(self.mailings)}",
        ]
        for m in self.mailings:
            text = " ".join(m.text.split())
            text = text if len(text) <= 60 else text[:59] + "…"
            counts = ", ".join(f"{s} {n}" for s, n in m.by_status.items() if n) or "no messages"
            lines += [
                "",
                f"  #{m.id} [{m.state}] {text}",
                f"    {local(m.start_at)} to {local(m.end_at)}",
                f"    {m.total} message(s): {counts}",
                f"    sent in the period: {m.sent_in_period}",
            ]
        lines += [
            "",
            f"Totals: {self.total} message(s), {self.sent_in_period} sent in the period",
            "  " + ", ".join(f"{s} {n}" for s, n in self.totals.items()),
            "",
            "Gateway errors of messages not sent (by last error):",
        ]
        if self.error_classes:
            width = max(len(name) for name in self.error_classes)
            lines += [f"  {name:<{width}}  {n}" for name, n in self.error_classes.items()]
        else:
            lines.append("  none")
        return "\n".join(lines) + "\n"


def build_report(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    day: date,
    timezone: str,
    now: datetime | None = None,
) -> DailyReport:
    """The report over ``[start, end)`` from the store (call it on the store's thread).

    Args:
        store: the store to read.
        start: the period's start (aware).
        end: the period's end (aware).
        day: the day the report is named for.
        timezone: the IANA zone times are shown in.
        now: the instant mailing states are judged at; the store's clock when omitted.
    """
    now = now or store.clock()
    db = store.db
    lo, hi = start.timestamp(), end.timestamp()
    picked = "SELECT id FROM mailing WHERE start_at < ? AND end_at > ?"
    rows = execute(
        db,
        "SELECT id, text, start_at, end_at, paused, cancelled FROM mailing"
        " WHERE start_at < ? AND end_at > ? ORDER BY start_at, id",
        (hi, lo),
    ).fetchall()
    counts: dict[int, dict[str, int]] = {row[0]: {} for row in rows}
    sent_in_period: dict[int, int] = {}
    for mailing_id, status, n, sent in execute(
        db,
        "SELECT mailing_id, status, COUNT(*),"
        " SUM(CASE WHEN sent_at >= ? AND sent_at < ? THEN 1 ELSE 0 END)"
        f" FROM message WHERE mailing_id IN ({picked}) GROUP BY mailing_id, status",
        (lo, hi, hi, lo),
    ):
        counts[mailing_id][status] = n
        sent_in_period[mailing_id] = sent_in_period.get(mailing_id, 0) + (sent or 0)
    mailings = []
    for mailing_id, text, start_at, end_at, paused, cancelled in rows:
        by_status = counts[mailing_id]
        state = rules.mailing_state(
            start_at=_utc(start_at),
            end_at=_utc(end_at),
            paused=bool(paused),
            cancelled=bool(cancelled),
            now=now,
            total=sum(by_status.values()),
            open_count=open_count(by_status),
        )
        mailings.append(
            MailingSummary(
                id=mailing_id,
                text=text,
                start_at=_utc(start_at),
                end_at=_utc(end_at),
                state=str(state),
                by_status={s: by_status.get(s, 0) for s in ALL_STATUSES},
                sent_in_period=sent_in_period.get(mailing_id, 0),
            )
        )
    totals = {s: sum(m.by_status[s] for m in mailings) for s in ALL_STATUSES}
    statuses = ", ".join("?" for _ in _UNSENT_STATUSES)
    classes = ", ".join("?" for _ in _GATEWAY_CLASSES)
    by_class = execute(
        db,
        "SELECT error_class, COUNT(*) FROM message"
        f" WHERE mailing_id IN ({picked}) AND error_class IN ({classes})"
        f" AND status IN ({statuses}) GROUP BY error_class",
        (hi, lo, *_GATEWAY_CLASSES, *_UNSENT_STATUSES),
    ).fetchall()
    labelled = sorted(
        ((ErrorClass(cls).label, n) for cls, n in by_class), key=lambda p: (-p[1], p[0])
    )
    return DailyReport(
        day=day,
        timezone=timezone,
        period_start=start,
        period_end=end,
        generated_at=now,
        mailings=tuple(mailings),
        totals=totals,
        error_classes=dict(labelled),
    )


def daily_report(store: Store, day: date, at: time, timezone: str) -> DailyReport:
    """The report due on ``day`` at local time ``at`` in ``timezone``."""
    start, end = period_for_day(day, at, ZoneInfo(timezone))
    return build_report(store, start, end, day=day, timezone=timezone)


def recent_report(store: Store, timezone: str) -> DailyReport:
    """The last 24 hours up to now, named for today's local date."""
    now = store.clock()
    return build_report(
        store,
        now - timedelta(days=1),
        now,
        day=now.astimezone(ZoneInfo(timezone)).date(),
        timezone=timezone,
        now=now,
    )


def already_sent(store: Store, day: date) -> bool:
    """Whether the report for ``day`` went out (by this process or any other)."""
    row = execute(store.db, "SELECT 1 FROM report_log WHERE day = ?", (day.isoformat(),)).fetchone()
    return row is not None


def mark_sent(store: Store, day: date, recipients: str | list[str] | tuple[str, ...]) -> bool:
    """Remember that the report for ``day`` went out; False if it was already recorded."""
    to = recipients if isinstance(recipients, str) else ", ".join(recipients)
    with store.db.atomic("IMMEDIATE"):
        cursor = execute(
            store.db,
            "INSERT INTO report_log (day, sent_at, recipients) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (day.isoformat(), store.clock().timestamp(), to),
        )
    return cursor.rowcount == 1


def _utc(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
