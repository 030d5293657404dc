"""Overall and per-mailing statistics as SQL aggregates.

Counts come from ``GROUP BY`` over the ``(mailing_id, status, ...)`` index, so
an overall view over a million messages is one index scan; rows are never
loaded into Python to be counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import peewee as pw

from notifier_tui.core.records import MailingRecord, MessageRecord
from notifier_tui.core.rules import ALL_STATUSES, MessageStatus
from notifier_tui.core.store import dialect
from notifier_tui.core.store.schema import Message
from notifier_tui.core.store.sqlutil import CHUNK, execute


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def counts_by_mailing(
    db: pw.Database, mailing_ids: list[int] | None = None
) -> dict[int, dict[str, int]]:
    """``{mailing_id: {status: count}}`` for every mailing with messages, or the ones given."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    queries: list[tuple[str, list[int]]] = [("", [])]
    if mailing_ids is not None:
        # Placeholders, not json_each: the same statement runs on PostgreSQL.
        batches = [mailing_ids[i : i + CHUNK] for i in range(0, len(mailing_ids), CHUNK)]
        queries = [(f" WHERE mailing_id IN ({', '.join('?' * len(b))})", b) for b in batches]
    for where, params in queries:
        cursor = execute(
            db,
            f"SELECT mailing_id, status, COUNT(*) FROM message{where} GROUP BY mailing_id, status",
            params,
        )
        for mailing_id, status, count in cursor:
            out[mailing_id][status] = count
    return dict(out)


def counts_for(db: pw.Database, mailing_id: int) -> dict[str, int]:
    """``{status: count}`` for one mailing."""
    cursor = execute(
        db,
        "SELECT status, COUNT(*) FROM message WHERE mailing_id = ? GROUP BY status",
        (mailing_id,),
    )
    return {status: count for status, count in cursor}


def errors_for(db: pw.Database, mailing_id: int) -> dict[str, int]:
    """``{error_class: count}`` over one mailing's messages that were not sent.

    A message sent after a retry keeps the class of its last failure, so sent
    ones are left out: this says why messages did not (yet) go out.
    """
    cursor = execute(
        db,
        "SELECT error_class, COUNT(*) AS n FROM message"
        " WHERE mailing_id = ? AND error_class IS NOT NULL AND status != ?"
        " GROUP BY error_class ORDER BY n DESC, error_class",
        (mailing_id, MessageStatus.SENT.value),
    )
    return {cls: n for cls, n in cursor}


def full_counts(counts: dict[str, int]) -> dict[str, int]:
    """Every status, zeros included, in lifecycle order."""
    return {status: counts.get(status, 0) for status in ALL_STATUSES}


@dataclass(frozen=True, slots=True)
class OverallStats:
    mailings: list[MailingRecord]
    total: int
    by_status: dict[str, int]

    @classmethod
    def from_mailings(cls, mailings: list[MailingRecord]) -> OverallStats:
        totals: dict[str, int] = dict.fromkeys(ALL_STATUSES, 0)
        for mailing in mailings:
            for status, count in mailing.by_status.items():
                totals[status] = totals.get(status, 0) + count
        return cls(mailings, sum(totals.values()), totals)

    def to_json(self) -> dict[str, Any]:
        return {
            "mailings": [
                {
                    "id": m.id,
                    "text": m.text,
                    "start_at": m.start_at.isoformat(),
                    "end_at": m.end_at.isoformat(),
                    "state": str(m.state),
                    "total": m.total,
                    "by_status": full_counts(m.by_status),
                    "encoding": str(m.segments.encoding),
                    "segments": m.segments.segments,
                    "segments_sent": m.segments_sent,
                }
                for m in self.mailings
            ],
            "totals": {
                "total": self.total,
                "by_status": full_counts(self.by_status),
                "segments_sent": self.segments_sent,
            },
        }

    @property
    def segments_sent(self) -> int:
        """Segments billed for every sent message of every mailing."""
        return sum(m.segments_sent for m in self.mailings)


@dataclass(frozen=True, slots=True)
class MailingDetail:
    mailing: MailingRecord
    by_status: dict[str, int]
    messages: list[MessageRecord] = field(default_factory=list)
    matching: int = 0
    by_error: dict[str, int] = field(default_factory=dict)
    """Messages not sent, by :class:`~notifier_tui.core.reasons.ErrorClass` value."""

    def to_json(self) -> dict[str, Any]:
        return {
            "mailing": self.mailing.to_json(),
            "by_status": full_counts(self.by_status),
            "by_error": dict(self.by_error),
            "segments_sent": self.mailing.segments_sent,
            "messages": [m.to_json() for m in self.messages],
        }


_MESSAGE_COLUMNS = (
    "id, mailing_id, client_id, phone, status, created_at, sent_at, attempts, last_error,"
    " next_attempt_at, error_class"
)


def _message(row: tuple[Any, ...]) -> MessageRecord:
    mid, mailing_id, client_id, phone, status, created, sent, attempts, error, nxt, cls = row
    return MessageRecord(
        mid,
        mailing_id,
        client_id,
        phone,
        status,
        datetime.fromtimestamp(created, UTC),
        _ts(sent),
        attempts,
        error,
        _ts(nxt),
        cls,
    )


def message_record(row: Message) -> MessageRecord:
    return MessageRecord(
        row.id,
        row.mailing_id,
        row.client_id,
        row.phone,
        row.status,
        row.created_at,
        row.sent_at,
        row.attempts,
        row.last_error,
        row.next_attempt_at,
        row.error_class,
    )


def detail(
    db: pw.Database,
    mailing: MailingRecord,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> MailingDetail:
    """Counts by status and one page of messages, optionally of one status."""
    where = "mailing_id = ?"
    params: list[Any] = [mailing.id]
    if status:
        where += " AND status = ?"
        params.append(status)
    sql = f"SELECT {_MESSAGE_COLUMNS} FROM message WHERE {where} ORDER BY id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    elif offset:
        sql += " LIMIT ALL OFFSET ?" if dialect.is_postgres(db) else " LIMIT -1 OFFSET ?"
        params.append(offset)
    messages = [_message(row) for row in execute(db, sql, params)]
    matching = mailing.by_status.get(status, 0) if status else mailing.total
    return MailingDetail(
        mailing, dict(mailing.by_status), messages, matching, errors_for(db, mailing.id)
    )
