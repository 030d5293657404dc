"""Who a mailing is for: the audience rule in SQL, and keeping messages in step with it.

DESIGN rule 1 makes a mailing's messages when it starts (:meth:`Audience.materialize`);
rule 2 keeps them current while it runs, both when a client changes
(:meth:`Audience.sync_client`) and when the mailing's filter changes
(:meth:`Audience.resync_mailing`). The same rule for one client in Python is
:func:`notifier_tui.core.rules.audience_matches`; the two must agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee as pw

from notifier_tui.core import rules
from notifier_tui.core.reasons import ErrorClass, reason_text
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store.base import Part
from notifier_tui.core.store.schema import Client, Mailing, Message
from notifier_tui.core.store.sqlutil import execute

_UNMATCHED = ErrorClass.CLIENT_NO_LONGER_MATCHES
_UNMATCHED_TEXT = reason_text(_UNMATCHED)
_STOPPED = ErrorClass.STOP_LISTED


def is_stop_listed(db: pw.Database, phone: str) -> bool:
    """Whether ``phone`` (normalised) is on the stop list."""
    return execute(db, "SELECT 1 FROM stop_list WHERE phone = ?", (phone,)).fetchone() is not None


@dataclass(frozen=True, slots=True)
class AudienceFilter:
    """A mailing's filter: empty sets mean "any"."""

    operator_codes: frozenset[str]
    tags: frozenset[str]
    explicit_for: int | None = None
    """A mailing whose audience is its listed clients (``mailing_client``), not the filter."""

    @classmethod
    def of(cls, mailing: Mailing) -> AudienceFilter:
        return cls(
            frozenset(json.loads(mailing.operator_codes)),
            frozenset(json.loads(mailing.tags)),
            mailing.id if mailing.audience_explicit else None,
        )

    def sql(self, alias: str = "c", *, stop_list: bool = True) -> tuple[str, list[Any]]:
        """A WHERE fragment selecting matching clients; stop-listed phones never match.

        ``stop_list=False`` leaves the stop list out, to count whom it excludes.
        """
        parts: list[str] = ["1 = 1"]
        params: list[Any] = []
        if stop_list:
            parts.append(f"{alias}.phone NOT IN (SELECT phone FROM stop_list)")
        if self.explicit_for is not None:
            parts.append(
                f"{alias}.id IN (SELECT client_id FROM mailing_client WHERE mailing_id = ?)"
            )
            params.append(self.explicit_for)
        # One parameter per value, not json_each: the same SQL runs on PostgreSQL.
        if self.operator_codes:
            codes = sorted(self.operator_codes)
            parts.append(f"{alias}.operator_code IN ({', '.join('?' * len(codes))})")
            params += codes
        if self.tags:
            tags = sorted(self.tags)
            parts.append(f"{alias}.tag IN ({', '.join('?' * len(tags))})")
            params += tags
        return " AND ".join(parts), params

    def matches(self, operator_code: str, tag: str) -> bool:
        """The filter's rule for one client, in Python (the stop list and list are not here)."""
        return rules.audience_matches(self.operator_codes, self.tags, operator_code, tag)

    def selects(self, db: pw.Database, client: Client) -> bool:
        """The whole rule for one stored client: the filter, the list, the stop list."""
        if not self.matches(client.operator_code, client.tag):
            return False
        where, params = self.sql()
        found = execute(
            db, f"SELECT 1 FROM client c WHERE c.id = ? AND {where}", [client.id, *params]
        )
        return found.fetchone() is not None


class Audience(Part):
    """Materialises audiences and keeps them current (DESIGN rules 1 and 2)."""

    def count(self, operator_codes: Iterable[str] = (), tags: Iterable[str] = ()) -> int:
        """How many clients a draft filter selects (invalid entries raise)."""
        filt = AudienceFilter(rules.normalize_codes(operator_codes), rules.normalize_tags(tags))
        where, params = filt.sql()
        cursor = execute(self.db, f"SELECT COUNT(*) FROM client c WHERE {where}", params)
        return int(cursor.fetchone()[0])

    def excluded(self, operator_codes: Iterable[str] = (), tags: Iterable[str] = ()) -> int:
        """How many clients a draft filter would select but the stop list excludes."""
        filt = AudienceFilter(rules.normalize_codes(operator_codes), rules.normalize_tags(tags))
        where, params = filt.sql(stop_list=False)
        cursor = execute(
            self.db,
            "SELECT COUNT(*) FROM client c"
            f" WHERE c.phone IN (SELECT phone FROM stop_list) AND {where}",
            params,
        )
        return int(cursor.fetchone()[0])

    def live_mailings(self, now: datetime) -> list[Mailing]:
        """Mailings whose audience is materialised and still kept current."""
        return list(
            Mailing.select().where(
                Mailing.materialized_at.is_null(False)
                & (Mailing.cancelled == False)
                & (Mailing.end_at > now)
            )
        )

    def materialize(
        self,
        mailing: Mailing,
        now: datetime,
        client_id: int | None = None,
        after_id: int | None = None,
    ) -> int:
        """One pending message per matching client that has none yet; returns how many.

        A phone that already has a message in this mailing gets no second one,
        whoever holds it now: a client deleted and added again with the same
        phone is the same person, who got (or will get) the first message.
        ``client_id`` limits this to one client (which may not match at all),
        ``after_id`` to clients with a larger id (the ones an import just added:
        ids only grow), so an import does not rescan every client it did not add.
        """
        where, params = AudienceFilter.of(mailing).sql()
        if client_id is not None:
            where += " AND c.id = ?"
            params.append(client_id)
        if after_id is not None:
            where += " AND c.id > ?"
            params.append(after_id)
        cursor = execute(
            self.db,
            "INSERT INTO message"
            " (mailing_id, client_id, phone, status, created_at, attempts, next_attempt_at)"
            f" SELECT ?, c.id, c.phone, 'pending', ?, 0, ? FROM client c WHERE {where}"
            " AND NOT EXISTS"
            " (SELECT 1 FROM message m WHERE m.mailing_id = ? AND m.phone = c.phone)"
            " ON CONFLICT DO NOTHING",
            [mailing.id, now.timestamp(), now.timestamp(), *params, mailing.id],
        )
        return int(cursor.rowcount)

    def materialize_live(self, after_id: int | None = None) -> None:
        """Give clients just added (ids above ``after_id``) their messages in live mailings."""
        now = self.clock()
        for mailing in self.live_mailings(now):
            self.materialize(mailing, now, after_id=after_id)

    def resync_mailing(self, mailing: Mailing) -> None:
        """Rule 2 after a live mailing's filter changed."""
        now = self.clock()
        self.materialize(mailing, now)
        where, params = AudienceFilter.of(mailing).sql()
        # Rule 2 both ways: a client that matches again gets back the message that was
        # cancelled only because it stopped matching (the INSERT's ON CONFLICT skips that row).
        execute(
            self.db,
            "UPDATE message SET status = 'pending', last_error = NULL, error_class = NULL"
            " WHERE mailing_id = ? AND status = 'cancelled'"
            " AND error_class = ? AND client_id IN"
            f" (SELECT c.id FROM client c WHERE {where})",
            [mailing.id, _UNMATCHED, *params],
        )
        execute(
            self.db,
            "UPDATE message SET status = 'cancelled', last_error = ?, error_class = ?"
            " WHERE mailing_id = ? AND status = 'pending' AND client_id NOT IN"
            f" (SELECT c.id FROM client c WHERE {where})",
            [_UNMATCHED_TEXT, _UNMATCHED, mailing.id, *params],
        )

    def sync_client(self, client: Client) -> None:
        """Rule 2 for one client (just created or changed) against every live mailing."""
        now = self.clock()
        for mailing in self.live_mailings(now):
            if AudienceFilter.of(mailing).selects(self.db, client):
                self.materialize(mailing, now, client.id)
                # A message cancelled only because the client stopped matching comes back.
                Message.update(
                    status=MessageStatus.PENDING, last_error=None, error_class=None
                ).where(
                    (Message.mailing == mailing.id)
                    & (Message.client == client.id)
                    & (Message.status == MessageStatus.CANCELLED)
                    & (Message.error_class == _UNMATCHED)
                ).execute()
            else:
                why = _STOPPED if is_stop_listed(self.db, client.phone) else _UNMATCHED
                Message.update(
                    status=MessageStatus.CANCELLED,
                    last_error=reason_text(why),
                    error_class=why,
                ).where(
                    (Message.mailing == mailing.id)
                    & (Message.client == client.id)
                    & (Message.status == MessageStatus.PENDING)
                ).execute()
        Message.update(phone=client.phone).where(
            (Message.client == client.id) & (Message.status == MessageStatus.PENDING)
        ).execute()
