"""Mailings: validated create, change, pause, cancel, delete, and their statistics."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from notifier_tui.core import rules, stats
from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.reasons import ErrorClass, reason_text
from notifier_tui.core.records import MailingRecord, MessageRecord, open_count
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.base import Part, StoreContext
from notifier_tui.core.store.schema import Mailing, Message
from notifier_tui.core.store.sqlutil import writes


def _closed_key(row: Mailing) -> tuple[object, ...]:
    """What must stay the same for a closed mailing's kept counts to hold."""
    return (row.updated_at, row.start_at, row.end_at, row.cancelled, row.materialized_at)


class Mailings(Part):
    """The mailing table; a live mailing's audience is kept current through :class:`Audience`."""

    def __init__(self, ctx: StoreContext, audience: Audience) -> None:
        super().__init__(ctx)
        self.audience = audience
        # Counts of mailings that are over, by id, with the row's key they hold for.
        self._closed: dict[int, tuple[tuple[object, ...], dict[str, int]]] = {}

    def record(self, row: Mailing, counts: dict[str, int] | None = None) -> MailingRecord:
        counts = counts if counts is not None else stats.counts_for(self.db, row.id)
        state = rules.mailing_state(
            start_at=row.start_at,
            end_at=row.end_at,
            paused=row.paused,
            cancelled=row.cancelled,
            now=self.clock(),
            total=sum(counts.values()),
            open_count=open_count(counts),
        )
        return MailingRecord(
            id=row.id,
            start_at=row.start_at,
            end_at=row.end_at,
            text=row.text,
            operator_codes=tuple(sorted(json.loads(row.operator_codes))),
            tags=tuple(sorted(json.loads(row.tags))),
            window=row.window,
            paused=row.paused,
            cancelled=row.cancelled,
            created_at=row.created_at,
            state=state,
            total=sum(counts.values()),
            by_status=counts,
        )

    def row(self, mailing_id: int) -> Mailing:
        row = Mailing.get_or_none(Mailing.id == mailing_id)
        if row is None:
            raise NotFoundError("mailing", mailing_id)
        return row

    def get(self, mailing_id: int) -> MailingRecord:
        return self.record(self.row(mailing_id))

    def all(self) -> list[MailingRecord]:
        """Every mailing with its counts, newest first.

        Counting a million messages is most of the cost of the overall view, and
        most mailings are over: their counts are kept from the last time and
        only the others are counted again (see :meth:`_is_closed`).
        """
        rows = list(Mailing.select().order_by(Mailing.start_at.desc(), Mailing.id.desc()))
        now = self.clock()
        kept: dict[int, dict[str, int]] = {}
        for row in rows:
            entry = self._closed.get(row.id)
            if entry is not None and entry[0] == _closed_key(row) and row.end_at <= now:
                kept[row.id] = entry[1]
        fresh = [row.id for row in rows if row.id not in kept]
        counts = stats.counts_by_mailing(self.db, fresh if kept else None)
        out = []
        for row in rows:
            c = kept.get(row.id) or counts.get(row.id, {})
            if row.id not in kept and self._is_closed(row, c, now):
                self._closed[row.id] = (_closed_key(row), dict(c))
            out.append(self.record(row, dict(c)))
        return out

    @staticmethod
    def _is_closed(row: Mailing, counts: dict[str, int], now: datetime) -> bool:
        """Whether nothing can change this mailing's counts any more but editing it.

        Over (ended and materialised) with no message open: the store only ever
        changes pending and sending messages, or those of live mailings, so its
        counts change only if the mailing row itself does (its key) or it goes.
        """
        return row.materialized_at is not None and row.end_at <= now and open_count(counts) == 0

    @writes
    def create(
        self,
        start_at: datetime,
        end_at: datetime,
        text: str,
        operator_codes: Iterable[str] = (),
        tags: Iterable[str] = (),
        window: str | None = None,
    ) -> MailingRecord:
        rules.validate_period(start_at, end_at)
        text = rules.validate_text(text)
        codes = rules.normalize_codes(operator_codes)
        tag_set = rules.normalize_tags(tags)
        parsed_window = rules.parse_window(window)
        now = self.clock()
        row = Mailing.create(
            start_at=start_at,
            end_at=end_at,
            text=text,
            operator_codes=json.dumps(sorted(codes)),
            tags=json.dumps(sorted(tag_set)),
            window=str(parsed_window) if parsed_window else None,
            created_at=now,
            updated_at=now,
        )
        return self.record(row, {})

    @writes
    def update(
        self,
        mailing_id: int,
        *,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        text: str | None = None,
        operator_codes: Iterable[str] | None = None,
        tags: Iterable[str] | None = None,
        window: str | None = None,
    ) -> MailingRecord:
        """Change a mailing; ``window=""`` removes the window, ``None`` keeps it."""
        row = self.row(mailing_id)
        new_start = start_at or row.start_at
        new_end = end_at or row.end_at
        rules.validate_period(new_start, new_end)
        row.start_at, row.end_at = new_start, new_end
        if text is not None:
            row.text = rules.validate_text(text)
        if operator_codes is not None:
            row.operator_codes = json.dumps(sorted(rules.normalize_codes(operator_codes)))
        if tags is not None:
            row.tags = json.dumps(sorted(rules.normalize_tags(tags)))
        if window is not None:
            parsed = rules.parse_window(window)
            row.window = str(parsed) if parsed else None
        row.updated_at = self.clock()
        row.save()
        if row.materialized_at is not None and not row.cancelled and row.end_at > self.clock():
            self.audience.resync_mailing(row)
        return self.record(row)

    @writes
    def delete(self, mailing_id: int) -> None:
        self.row(mailing_id)
        Message.delete().where(Message.mailing == mailing_id).execute()
        Mailing.delete().where(Mailing.id == mailing_id).execute()

    @writes
    def pause(self, mailing_id: int) -> MailingRecord:
        row = self.row(mailing_id)
        self._require_open(row, "pause")
        row.paused = True
        row.save()
        return self.record(row)

    @writes
    def resume(self, mailing_id: int) -> MailingRecord:
        row = self.row(mailing_id)
        self._require_open(row, "resume")
        row.paused = False
        row.save()
        return self.record(row)

    @writes
    def cancel(self, mailing_id: int) -> MailingRecord:
        row = self.row(mailing_id)
        if row.cancelled:
            return self.record(row)
        row.cancelled = True
        row.save()
        Message.update(
            status=MessageStatus.CANCELLED,
            last_error=reason_text(ErrorClass.MAILING_CANCELLED),
            error_class=ErrorClass.MAILING_CANCELLED,
        ).where(
            (Message.mailing == mailing_id) & (Message.status == MessageStatus.PENDING)
        ).execute()
        return self.record(row)

    def _require_open(self, row: Mailing, action: str) -> None:
        if row.cancelled:
            raise ValidationError("mailing", f"{row.id} is cancelled and cannot {action}")
        if row.end_at <= self.clock():
            raise ValidationError("mailing", f"{row.id} has ended and cannot {action}")

    # --- statistics ----------------------------------------------------------

    def get_message(self, message_id: int) -> MessageRecord:
        row = Message.get_or_none(Message.id == message_id)
        if row is None:
            raise NotFoundError("message", message_id)
        return stats.message_record(row)

    def overall_stats(self) -> stats.OverallStats:
        return stats.OverallStats.from_mailings(self.all())

    def stats(
        self,
        mailing_id: int,
        *,
        status: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> stats.MailingDetail:
        """Counts and one page of messages; an unknown ``status`` is bad input, not "none"."""
        if status and status not in rules.ALL_STATUSES:
            raise ValidationError(
                "status", f"must be one of {', '.join(rules.ALL_STATUSES)}, got {status!r}"
            )
        if offset < 0:
            raise ValidationError("offset", f"must be 0 or more, got {offset}")
        if limit is not None and limit < 0:
            raise ValidationError("limit", f"must be 0 or more, got {limit}")
        self.row(mailing_id)
        return stats.detail(
            self.db, self.get(mailing_id), status=status, offset=offset, limit=limit
        )
