"""Campaign operations over one mailing: resend to the missed, preview inputs, export.

- :meth:`Campaign.clone` makes a new mailing for the clients of an existing
  one (those whose message ended ``failed``, ``expired`` or ``cancelled``, or
  all of them). Its audience is an explicit client list, ``mailing_client``,
  not a filter; the original's messages are only read.
- :meth:`Campaign.audience_by_zone` counts an audience by client timezone in
  SQL: the input of :func:`notifier_tui.core.projection.project`.
- :meth:`Campaign.export_csv` streams every message of a mailing to a CSV
  file through one cursor, so memory stays flat at a million messages.
- :meth:`Campaign.reserve_test_id` hands out an id for a test send from the
  message table's own AUTOINCREMENT sequence: it is never any message's id
  and never handed out again, so the gateway (whose idempotency key it is)
  can never take a test send for a message or the other way round.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notifier_tui.core import rules
from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.records import OPEN_STATUSES
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store import dialect
from notifier_tui.core.store.audience import AudienceFilter
from notifier_tui.core.store.base import Part
from notifier_tui.core.store.schema import Mailing
from notifier_tui.core.store.sqlutil import execute, writes

CLONE_STATUSES: tuple[str, ...] = (
    MessageStatus.FAILED.value,
    MessageStatus.EXPIRED.value,
    MessageStatus.CANCELLED.value,
)
"""The statuses ``clone --only`` takes: the messages that were not sent."""

EXPORT_HEADER = (
    "message_id",
    "client_id",
    "phone",
    "status",
    "error_class",
    "attempts",
    "created_at",
    "sent_at",
    "next_attempt_at",
    "last_error",
)

RATE_WINDOW = timedelta(minutes=5)
"""How far back the "last measured send rate" looks."""


def parse_only(values: Iterable[str]) -> frozenset[str]:
    """``failed,expired`` (comma-separated, repeatable) as a set of statuses.

    Raises:
        ValidationError: a status that is not one of :data:`CLONE_STATUSES`.
    """
    out: set[str] = set()
    for value in values:
        for item in str(value).split(","):
            status = item.strip().lower()
            if status not in CLONE_STATUSES:
                raise ValidationError(
                    "--only", f"must be among {', '.join(CLONE_STATUSES)}, got {item.strip()!r}"
                )
            out.add(status)
    if not out:
        raise ValidationError("--only", f"give one or more of {', '.join(CLONE_STATUSES)}")
    return frozenset(out)


def _iso(value: float | None) -> str:
    return "" if value is None else datetime.fromtimestamp(value, UTC).isoformat()


class Campaign(Part):
    """Clone, preview inputs, export and test-send ids, over the shared context."""

    def _mailing(self, mailing_id: int) -> Mailing:
        row = Mailing.get_or_none(Mailing.id == mailing_id)
        if row is None:
            raise NotFoundError("mailing", mailing_id)
        return row

    # --- resend to the missed -------------------------------------------------

    @writes
    def clone(
        self,
        mailing_id: int,
        *,
        start_at: datetime,
        end_at: datetime,
        only: frozenset[str] | None = None,
        text: str | None = None,
    ) -> tuple[int, int]:
        """A new mailing for the clients of ``mailing_id``; returns (its id, its audience).

        With ``only``, its clients are those whose message in the original ended
        in one of those statuses; without, every client the original had a
        message for (or, if it never started, the same filter). Clients since
        deleted are left out. Nothing of the original is changed.

        Raises:
            ValidationError: bad period, text or statuses, or nobody to send to.
            NotFoundError: no such mailing.
        """
        original = self._mailing(mailing_id)
        rules.validate_period(start_at, end_at)
        new_text = rules.validate_text(text if text is not None else original.text)
        if only is not None and not only <= set(CLONE_STATUSES):
            raise ValidationError("--only", f"must be among {', '.join(CLONE_STATUSES)}")
        now = self.clock()
        explicit = only is not None or original.materialized_at is not None
        row = Mailing.create(
            start_at=start_at,
            end_at=end_at,
            text=new_text,
            # An explicit list is the whole audience: no filter on top of it.
            operator_codes="[]" if explicit else original.operator_codes,
            tags="[]" if explicit else original.tags,
            window=original.window,
            created_at=now,
            updated_at=now,
            audience_explicit=explicit,
            cloned_from=original.id,
        )
        if not explicit:
            where, params = AudienceFilter.of(row).sql()
            count = execute(self.db, f"SELECT COUNT(*) FROM client c WHERE {where}", params)
            return row.id, int(count.fetchone()[0])
        sql = (
            "INSERT INTO mailing_client (mailing_id, client_id)"
            " SELECT ?, m.client_id FROM message m"
            " WHERE m.mailing_id = ? AND m.client_id IS NOT NULL"
        )
        args: list[object] = [row.id, original.id]
        if only is not None:
            statuses = sorted(only)
            sql += f" AND m.status IN ({', '.join('?' * len(statuses))})"
            args += statuses
        sql += " ON CONFLICT DO NOTHING"  # SQLite and PostgreSQL both read this
        added = int(execute(self.db, sql, args).rowcount)
        if added == 0:
            what = f"no {'/'.join(sorted(only))} messages" if only else "no messages"
            # Raising rolls the whole transaction back: no empty mailing is left.
            raise ValidationError(
                "mailing", f"{original.id} has {what} of existing clients; nobody to send to"
            )
        return row.id, added

    def explicit_clients(self, mailing_id: int) -> list[int]:
        """The client ids a mailing lists as its audience (empty for a filter)."""
        cursor = execute(
            self.db,
            "SELECT client_id FROM mailing_client WHERE mailing_id = ? ORDER BY client_id",
            (mailing_id,),
        )
        return [client_id for (client_id,) in cursor]

    # --- preview inputs -----------------------------------------------------

    def audience_by_zone(
        self, operator_codes: Iterable[str] = (), tags: Iterable[str] = ()
    ) -> dict[str, int]:
        """A draft filter's audience now (stop list excluded), by client timezone."""
        filt = AudienceFilter(rules.normalize_codes(operator_codes), rules.normalize_tags(tags))
        where, params = filt.sql()
        cursor = execute(
            self.db,
            f"SELECT c.timezone, COUNT(*) FROM client c WHERE {where} GROUP BY c.timezone",
            params,
        )
        return {zone: int(n) for zone, n in cursor}

    def mailing_audience_by_zone(self, mailing_id: int) -> dict[str, int]:
        """A stored mailing's messages still to send by timezone, or its audience before start."""
        row = self._mailing(mailing_id)
        if row.materialized_at is None:
            where, params = AudienceFilter.of(row).sql()
            sql = f"SELECT c.timezone, COUNT(*) FROM client c WHERE {where} GROUP BY c.timezone"
        else:
            marks = ", ".join("?" * len(OPEN_STATUSES))
            # A message whose client is gone cannot be sent; the sender cancels it.
            sql = (
                "SELECT c.timezone, COUNT(*) FROM message m JOIN client c ON c.id = m.client_id"
                f" WHERE m.mailing_id = ? AND m.status IN ({marks}) GROUP BY c.timezone"
            )
            params = [row.id, *OPEN_STATUSES]
        return {zone: int(n) for zone, n in execute(self.db, sql, params)}

    def measured_rate(self, now: datetime | None = None) -> float | None:
        """Messages sent per second over the last :data:`RATE_WINDOW`, if any were sent."""
        now = now or self.clock()
        since = (now - RATE_WINDOW).timestamp()
        row = execute(
            self.db,
            "SELECT COUNT(*), MIN(sent_at), MAX(sent_at) FROM message"
            " WHERE status = 'sent' AND sent_at >= ? AND sent_at <= ?",
            (since, now.timestamp()),
        ).fetchone()
        count, first, last = int(row[0]), row[1], row[2]
        if first is None or last is None:
            return None
        if count < 2 or last <= first:
            return None
        return float(count / max(float(last) - float(first), 1.0))

    # --- export ---------------------------------------------------------------

    def export_csv(self, mailing_id: int, path: Path | str) -> int:
        """Write every message of a mailing to ``path`` as CSV; returns the row count.

        One cursor streams the rows (fixed memory at any size). The file is
        written beside ``path`` and moved into place at the end, so a failure
        leaves no half file behind.

        Raises:
            NotFoundError: no such mailing (no file is then written).
            OSError: the file cannot be written.
        """
        self._mailing(mailing_id)
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        cursor = execute(
            self.db,
            "SELECT id, client_id, phone, status, error_class, attempts, created_at, sent_at,"
            " next_attempt_at, last_error FROM message WHERE mailing_id = ? ORDER BY id",
            (mailing_id,),
        )
        count = 0
        try:
            with open(partial, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(EXPORT_HEADER)
                for mid, cid, phone, status, cls, attempts, created, sent, nxt, err in cursor:
                    writer.writerow(
                        (
                            mid,
                            "" if cid is None else cid,
                            phone,
                            status,
                            cls or "",
                            attempts,
                            _iso(created),
                            _iso(sent),
                            _iso(nxt) if status in OPEN_STATUSES else "",
                            err or "",
                        )
                    )
                    count += 1
            os.replace(partial, target)
        except BaseException:
            cursor.close()
            partial.unlink(missing_ok=True)
            raise
        return count

    # --- test sends -----------------------------------------------------------

    @writes
    def reserve_test_id(self) -> int:
        """The next id of the message sequence, taken so no message ever gets it."""
        return dialect.take_id(self.db, "message")
