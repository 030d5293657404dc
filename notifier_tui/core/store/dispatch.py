"""The sender's side of the store: materialise audiences, claim, record, finalise.

Hot paths use prepared statements with ``executemany``: building one peewee
query per message costs ~70 µs of CPU, which would cap the sender far below
the gateway's rate (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

import peewee as pw

from notifier_tui.core import rules
from notifier_tui.core.reasons import ErrorClass, reason_text
from notifier_tui.core.records import OPEN_STATUSES, Claim, Outcome
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store import claimsql, dialect
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.base import Part, StoreContext
from notifier_tui.core.store.schema import Mailing, Message
from notifier_tui.core.store.sqlutil import chunks, cursor, execute, writes_if_changed


@dataclass(frozen=True, slots=True)
class DispatchStep:
    """What one pass of the sender's dispatch loop learned from the store."""

    version: int | None
    """The file's data_version when asked for: it changes when another process commits."""
    started: list[tuple[int, int]]
    """``(mailing_id, messages_created)`` of mailings materialised in this pass."""
    finalized: dict[str, list[int]]
    """Message ids expired or cancelled in this pass, by status."""
    claims: list[Claim]
    next_due: datetime | None
    """When there is something to do next, if fewer messages were due than asked for."""


# How far before the oldest pending message a recovered one is put (seconds).
_AHEAD = 0.001

_SET_REASON = "UPDATE message SET status = '{status}', last_error = ?, error_class = ? WHERE id = ?"
_CLIENT_DELETED = (reason_text(ErrorClass.CLIENT_DELETED), ErrorClass.CLIENT_DELETED.value)
_WINDOW_AFTER_END = (reason_text(ErrorClass.WINDOW_AFTER_END), ErrorClass.WINDOW_AFTER_END.value)


class _LiveMailing(NamedTuple):
    id: int
    text: str
    window: str | None
    end_at: datetime


class Dispatch(Part):
    """The sender's queue over the message table; audiences come from :class:`Audience`."""

    def __init__(self, ctx: StoreContext, audience: Audience) -> None:
        super().__init__(ctx)
        self.audience = audience
        self._claim_turn = 0

    @writes_if_changed
    def materialize_due(self, now: datetime | None = None) -> list[tuple[int, int]]:
        """Give every started, unmaterialised mailing its messages (DESIGN rule 1).

        Returns ``(mailing_id, messages_created)`` for each mailing materialised.
        A mailing whose end already passed still gets its messages, which then
        expire: the statistics say honestly that nobody got it.
        """
        now = now or self.clock()
        done = []
        due = Mailing.select().where(
            Mailing.materialized_at.is_null()
            & (Mailing.cancelled == False)
            & (Mailing.start_at <= now)
        )
        for mailing in due:
            created = self.audience.materialize(mailing, now)
            Mailing.update(materialized_at=now).where(Mailing.id == mailing.id).execute()
            done.append((mailing.id, created))
        return done

    @writes_if_changed
    def recover_sending(self) -> int:
        """DESIGN rule 7: ``sending`` left by a crash goes back to ``pending``, same id.

        Only claims of earlier lease epochs than the one this store holds: what
        was claimed under the current lease is in flight, not abandoned. A store
        that holds no lease recovers every claim.

        Recovered messages go to the front of their mailing's queue: they were
        the first due (the gateway may even have accepted them, and resending
        with the same id is what makes that safe), so they must not wait behind
        the whole backlog and expire untried.
        """
        epoch = self.ctx.lease_epoch
        cursor = execute(
            self.db,
            claimsql.RELEASE + " AND (? IS NULL OR claim_epoch IS NULL OR claim_epoch < ?)",
            (_AHEAD, _AHEAD, epoch, epoch),
        )
        return int(cursor.rowcount)

    @writes_if_changed
    def expire_claims(self, now: datetime | None = None) -> list[int]:
        """Give back every claim whose expiry passed: its owner died or lost touch.

        Any process may call it, as often as it likes: with several senders on
        one PostgreSQL store, a sender killed with -9 leaves ``sending`` rows
        that the others return to ``pending`` (same id, first in the queue)
        once the claim's expiry is behind them, without anyone restarting.
        Returns the ids given back.
        """
        now = now or self.clock()
        ids = [
            int(msg_id)
            for (msg_id,) in execute(
                self.db,
                "SELECT id FROM message WHERE status = 'sending'"
                " AND claim_expires_at IS NOT NULL AND claim_expires_at <= ?"
                + dialect.skip_locked(self.db, "message"),
                (now.timestamp(),),
            ).fetchall()
        ]
        for chunk in chunks(ids):
            marks = ", ".join("?" * len(chunk))
            execute(
                self.db, claimsql.RELEASE_IDS + f" AND id IN ({marks})", (_AHEAD, _AHEAD, *chunk)
            )
        return ids

    def renew_claims(self, now: datetime | None = None) -> int:
        """Push back the expiry of every claim this store's owner holds; returns how many.

        A sender calls it more often than the claim TTL (with its heartbeat) so
        that messages it is still sending are not given back under it.
        """
        now = now or self.clock()
        with self.db.atomic("IMMEDIATE"):
            cursor = execute(
                self.db,
                "UPDATE message SET claim_expires_at = ?"
                " WHERE status = 'sending' AND claim_owner = ?",
                (now.timestamp() + self.ctx.claim_ttl, self.ctx.claim_owner),
            )
        return int(cursor.rowcount)

    @writes_if_changed
    def finalize(self, now: datetime | None = None) -> dict[str, list[int]]:
        """Expire what an ended mailing did not send; cancel what a cancelled one left.

        Returns the ids changed by status, so the sender can log and report them.
        """
        now = now or self.clock()
        changed: dict[str, list[int]] = {"expired": [], "cancelled": []}
        for status, cond, cls in (
            (
                "expired",
                (Mailing.end_at <= now) & (Mailing.cancelled == False),
                ErrorClass.NOT_SENT_BEFORE_END,
            ),
            ("cancelled", Mailing.cancelled == True, ErrorClass.MAILING_CANCELLED),
        ):
            mailing_ids = [m.id for m in Mailing.select(Mailing.id).where(cond)]
            if not mailing_ids:
                continue
            ids = [
                r.id
                for r in Message.select(Message.id).where(
                    Message.mailing.in_(mailing_ids) & (Message.status == MessageStatus.PENDING)
                )
            ]
            for chunk in chunks(ids):
                # A message that waited on a retry keeps the gateway's reason.
                Message.update(
                    status=status,
                    last_error=pw.fn.COALESCE(Message.last_error, reason_text(cls)),
                    error_class=pw.fn.COALESCE(Message.error_class, cls.value),
                ).where(Message.id.in_(chunk)).execute()
            changed[status] = ids
        return changed

    def dispatch_step(
        self,
        now: datetime,
        free: int,
        *,
        check_version: bool,
        last_version: int | None,
        housekeeping: bool,
    ) -> DispatchStep:
        """One dispatch pass in one trip to the store's thread.

        Each trip costs a thread hop that a busy loop pays for in latency, so the
        data_version check, housekeeping, the claim and the next due instant are
        asked for together rather than one await each.
        """
        version = data_version(self.db) if check_version else None
        if version is not None and version != last_version:
            housekeeping = True
        started = self.materialize_due(now) if housekeeping else []
        finalized = self.finalize(now) if housekeeping else {}
        claims = self.claim_due(now, free) if free > 0 else []
        next_due = self.next_due_at(now) if len(claims) < free else None
        return DispatchStep(version, started, finalized, claims, next_due)

    def claim_due(self, now: datetime | None = None, limit: int = 500) -> list[Claim]:
        """Atomically move up to ``limit`` due messages from ``pending`` to ``sending``.

        Messages outside their send window are rescheduled to the window's next
        opening, or expired when it opens only after the mailing's end (rule 4).
        A message whose client was deleted while it was in flight is cancelled
        (rule 2). Mailings share ``limit`` evenly, and what a quiet mailing leaves
        unused goes to the busy ones, so none starves another.
        """
        now = now or self.clock()
        claims: list[Claim] = []
        touched = False
        with self.db.atomic("IMMEDIATE"):
            # Raw SQL: building the peewee query cost more than the claim itself
            # for the small batches the sender asks for many times a second.
            ts = now.timestamp()
            mailings = [
                _LiveMailing(mid, text, window, datetime.fromtimestamp(end, UTC))
                for mid, text, window, end in execute(
                    self.db,
                    'SELECT id, text, "window", end_at FROM mailing'
                    " WHERE materialized_at IS NOT NULL AND cancelled = 0 AND paused = 0"
                    " AND start_at <= ? AND end_at > ? ORDER BY id",
                    (ts, ts),
                )
            ]
            if mailings:
                # Rotate the starting mailing: small batches would otherwise always
                # go to the first few mailings and starve the rest.
                k = self._claim_turn % len(mailings)
                mailings = mailings[k:] + mailings[:k]
                self._claim_turn += 1
            while mailings and len(claims) < limit:
                share = max(1, (limit - len(claims)) // len(mailings))
                busy = []
                for mailing in mailings:
                    budget = min(share, limit - len(claims))
                    if budget <= 0:
                        break
                    seen, changed = self._claim_mailing(mailing, now, budget, claims)
                    touched = touched or changed
                    if seen == budget:
                        busy.append(mailing)
                mailings = busy
        if touched:
            self._notify()
        return claims

    def _claim_mailing(
        self, mailing: _LiveMailing, now: datetime, budget: int, claims: list[Claim]
    ) -> tuple[int, bool]:
        """Claim up to ``budget`` due messages of one mailing into ``claims``.

        Returns how many due rows were looked at (``budget`` means there may be
        more) and whether any was rescheduled, expired or cancelled instead.
        """
        window = rules.parse_window(mailing.window)
        rows = execute(
            self.db,
            "SELECT m.id, m.client_id, m.phone, m.attempts, c.timezone FROM message m"
            " LEFT JOIN client c ON c.id = m.client_id"
            " WHERE m.mailing_id = ? AND m.status = 'pending' AND m.next_attempt_at <= ?"
            " ORDER BY m.next_attempt_at LIMIT ?" + dialect.skip_locked(self.db, "m"),
            # PostgreSQL: rows another claimer holds are skipped, never taken twice.
            (mailing.id, now.timestamp(), budget),
        ).fetchall()
        to_send: list[tuple[int]] = []
        reschedule: list[tuple[float, int]] = []
        expire: list[tuple[str, str, int]] = []
        orphans: list[tuple[str, str, int]] = []
        for msg_id, client_id, phone, attempts, tz in rows:
            if client_id is None:
                orphans.append((*_CLIENT_DELETED, msg_id))
                continue
            if window is not None:
                zone = ZoneInfo(tz)
                if not rules.window_is_open(window, zone, now):
                    opens = rules.next_window_open(window, zone, now)
                    if opens >= mailing.end_at:
                        expire.append((*_WINDOW_AFTER_END, msg_id))
                    else:
                        reschedule.append((opens.timestamp(), msg_id))
                    continue
            to_send.append((msg_id,))
            claims.append(
                Claim(msg_id, mailing.id, client_id, phone, mailing.text, mailing.end_at, attempts)
            )
        # One statement a chunk of ids, not one a row: on PostgreSQL each statement
        # is a round trip to the server.
        claim = (self.ctx.lease_epoch, self.ctx.claim_owner, now.timestamp() + self.ctx.claim_ttl)
        for chunk in chunks([msg_id for (msg_id,) in to_send]):
            execute(
                self.db,
                "UPDATE message SET status = 'sending', claim_epoch = ?, claim_owner = ?,"
                f" claim_expires_at = ? WHERE id IN ({', '.join('?' * len(chunk))})"
                # "|| ''" keeps the planner on the id list: with a bare status test
                # SQLite walked the whole pending index (674 ms a batch at 1M messages).
                " AND status || '' = 'pending'",
                (*claim, *chunk),
            )
        cur = cursor(self.db)
        for sql, params in (
            ("UPDATE message SET next_attempt_at = ? WHERE id = ?", reschedule),
            (_SET_REASON.format(status=MessageStatus.EXPIRED), expire),
            (_SET_REASON.format(status=MessageStatus.CANCELLED), orphans),
        ):
            if params:  # most claims only send: skip preparing these statements
                cur.executemany(sql, params)
        return len(rows), bool(reschedule or expire or orphans)

    def record_outcomes(self, outcomes: Iterable[Outcome]) -> int:
        """Write a batch of outcomes in one transaction (one prepared statement)."""
        params = [
            (
                o.status,
                o.sent_at.timestamp() if o.sent_at else None,
                1 if o.charge else 0,
                o.last_error,
                o.error_class.value if o.error_class else None,
                o.last_error,
                o.next_attempt_at.timestamp() if o.next_attempt_at else None,
                o.id,
                self.ctx.claim_owner,
            )
            for o in outcomes
        ]
        if not params:
            return 0
        # No listener is told: the sender writes these itself, many times a second,
        # and screens refresh on their own clock.
        with self.db.atomic("IMMEDIATE"):
            return dialect.update_rows(self.db, claimsql.RECORD_ROW, claimsql.RECORD_VALUES, params)

    def next_due_at(self, now: datetime | None = None) -> datetime | None:
        """The next instant the sender has something to do: a start, an end, a retry."""
        now = now or self.clock()
        ts = now.timestamp()
        candidates: list[float] = []
        row = execute(
            self.db,
            "SELECT MIN(start_at) FROM mailing WHERE materialized_at IS NULL AND cancelled = 0",
        ).fetchone()
        if row[0] is not None:
            candidates.append(row[0])
        live = execute(
            self.db,
            "SELECT id, end_at, paused, start_at FROM mailing"
            " WHERE materialized_at IS NOT NULL AND cancelled = 0 AND end_at > ?",
            (ts,),
        ).fetchall()
        for mailing_id, end_at, paused, start_at in live:
            candidates.append(end_at)
            if paused:
                continue
            nxt = execute(
                self.db,
                "SELECT MIN(next_attempt_at) FROM message"
                " WHERE mailing_id = ? AND status = 'pending'",
                (mailing_id,),
            ).fetchone()[0]
            if nxt is not None:
                candidates.append(max(nxt, start_at))
        # Ended mailings with pending messages still need finalising.
        stale = execute(
            self.db,
            "SELECT 1 FROM message WHERE status = 'pending' AND mailing_id IN"
            " (SELECT id FROM mailing WHERE end_at <= ? OR cancelled = 1) LIMIT 1",
            (ts,),
        ).fetchone()
        if stale:
            candidates.append(ts)
        return datetime.fromtimestamp(min(candidates), UTC) if candidates else None

    def open_messages(self) -> int:
        """Messages still to be sent or in flight."""
        return int(Message.select().where(Message.status.in_(OPEN_STATUSES)).count())


def data_version(db: pw.Database) -> int:
    """Changes when another connection (another process) commits to the store."""
    return dialect.data_version(db)
