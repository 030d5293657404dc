"""The operations the UI, the command line and the sender call.

Every method here is synchronous and validated; nothing is written unless the
whole input is valid. The command line calls them directly. Code on an event
loop must go through :meth:`Store.run`, which executes them on the store's one
dedicated thread: peewee never runs on the loop, and that one thread owns one
connection, so writes from this process never contend with each other (WAL
lets other processes read beside it).

The facade only delegates: each job lives in its own part
(:mod:`.clients`, :mod:`.imports`, :mod:`.mailings`, :mod:`.audience`,
:mod:`.dispatch`, :mod:`.lease`), all sharing one :class:`StoreContext`;
the connection, threads and parts are built by :mod:`.opened`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from notifier_tui.core import stats
from notifier_tui.core.audit import Action, diff
from notifier_tui.core.clock import utcnow
from notifier_tui.core.records import (
    Claim,
    ClientRecord,
    ImportResult,
    LeaseInfo,
    MailingRecord,
    MessageRecord,
    Outcome,
)
from notifier_tui.core.store.audit_fields import client_fields, mailing_fields
from notifier_tui.core.store.campaign_ops import CampaignOps
from notifier_tui.core.store.csvio import read_client_csv
from notifier_tui.core.store.dispatch import DispatchStep

__all__ = ["Store", "read_client_csv", "utcnow"]


class Store(CampaignOps):
    """A validated view of one store (a SQLite file or a PostgreSQL database).

    Every operator action (client and mailing changes, imports, pause, resume,
    cancel, stop-list changes, test sends, a lease take-over) appends an audit
    row in its own transaction; :attr:`surface` says which surface acted
    (``ui`` unless whoever opened the store sets ``cli``, ``api`` or ``daemon``).
    The connection, the threads and the parts are :class:`OpenStore`'s; the
    campaign operations are :class:`CampaignOps`'s.
    """

    # --- clients -------------------------------------------------------------

    def get_client(self, client_id: int) -> ClientRecord:
        return self.clients.get(client_id)

    def create_client(
        self,
        phone: str,
        tag: str | None = "",
        timezone: str | None = None,
        operator_code: str | None = None,
    ) -> ClientRecord:
        with self._audited():
            c = self.clients.create(phone, tag, timezone, operator_code)
            self.audit.record(Action.CLIENT_CREATE, "client", c.id, diff({}, client_fields(c)))
        return c

    def update_client(
        self,
        client_id: int,
        *,
        phone: str | None = None,
        tag: str | None = None,
        timezone: str | None = None,
        operator_code: str | None = None,
    ) -> ClientRecord:
        with self._audited():
            old = self.clients.get(client_id)
            c = self.clients.update(
                client_id, phone=phone, tag=tag, timezone=timezone, operator_code=operator_code
            )
            change = diff(client_fields(old), client_fields(c))
            self.audit.record(Action.CLIENT_UPDATE, "client", c.id, change)
        return c

    def delete_client(self, client_id: int) -> None:
        with self._audited():
            old = self.clients.get(client_id)
            self.clients.delete(client_id)
            change = diff(client_fields(old), {})
            self.audit.record(Action.CLIENT_DELETE, "client", client_id, change)

    def list_clients(
        self,
        search: str = "",
        *,
        tag: str | None = None,
        operator: str | None = None,
        offset: int = 0,
        limit: int | None = 100,
        order: str = "id",
    ) -> list[ClientRecord]:
        """One page of the matching clients, sorted in SQL by ``order``.

        ``order`` is ``id``, ``phone``, ``operator``, ``tag`` or ``timezone``, with a
        leading ``-`` for descending, id breaking ties; any other raises a ``ValueError``.
        """
        return self.clients.page(
            search, tag=tag, operator=operator, offset=offset, limit=limit, order=order
        )

    def count_clients(
        self, search: str = "", *, tag: str | None = None, operator: str | None = None
    ) -> int:
        return self.clients.count(search, tag=tag, operator=operator)

    def distinct_tags(self) -> list[str]:
        return self.clients.distinct_tags()

    def distinct_operators(self) -> list[str]:
        return self.clients.distinct_operators()

    def import_rows(
        self, rows: Iterable[tuple[int, dict[str, str]]], *, skip_invalid: bool = False
    ) -> ImportResult:
        """See :meth:`Importer.import_rows`."""
        # Not one transaction with the import: it stages rows without the write lock
        # (imports.py), which an enclosing transaction would hold throughout.
        result = self.importer.import_rows(rows, skip_invalid=skip_invalid)
        with self._audited():
            counts = {"imported": result.imported, "skipped": len(result.errors)}
            self.audit.record(Action.CLIENT_IMPORT, "client", None, counts)
        return result

    def import_csv(self, path: Path | str, *, skip_invalid: bool = False) -> ImportResult:
        """Import clients from a CSV with header ``phone,tag,timezone[,operator_code]``."""
        return self.import_rows(read_client_csv(path), skip_invalid=skip_invalid)

    def export_csv(self, path: Path | str) -> int:
        """Write every client in the import format; returns the row count."""
        return self.clients.export_csv(str(path))

    # --- mailings ------------------------------------------------------------

    def get_mailing(self, mailing_id: int) -> MailingRecord:
        return self.mailings.get(mailing_id)

    def list_mailings(self) -> list[MailingRecord]:
        return self.mailings.all()

    def create_mailing(
        self,
        start_at: datetime,
        end_at: datetime,
        text: str,
        operator_codes: Iterable[str] = (),
        tags: Iterable[str] = (),
        window: str | None = None,
    ) -> MailingRecord:
        with self._audited():
            m = self.mailings.create(start_at, end_at, text, operator_codes, tags, window)
            change = diff({}, mailing_fields(m))
            self.audit.record(Action.MAILING_CREATE, "mailing", m.id, change)
        return m

    def update_mailing(
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
        with self._audited():
            old = self.mailings.get(mailing_id)
            m = self.mailings.update(
                mailing_id,
                start_at=start_at,
                end_at=end_at,
                text=text,
                operator_codes=operator_codes,
                tags=tags,
                window=window,
            )
            change = diff(mailing_fields(old), mailing_fields(m))
            self.audit.record(Action.MAILING_UPDATE, "mailing", m.id, change)
        return m

    def delete_mailing(self, mailing_id: int) -> None:
        with self._audited():
            old = self.mailings.get(mailing_id)
            self.mailings.delete(mailing_id)
            change = diff(mailing_fields(old), {})
            self.audit.record(Action.MAILING_DELETE, "mailing", mailing_id, change)

    def _mailing_action(
        self, action: Action, method: Callable[[int], MailingRecord], mailing_id: int
    ) -> MailingRecord:
        with self._audited():
            old = self.mailings.get(mailing_id)
            m = method(mailing_id)
            change = diff(
                {"paused": old.paused, "cancelled": old.cancelled},
                {"paused": m.paused, "cancelled": m.cancelled},
            )
            self.audit.record(action, "mailing", mailing_id, change)
        return m

    def pause_mailing(self, mailing_id: int) -> MailingRecord:
        return self._mailing_action(Action.MAILING_PAUSE, self.mailings.pause, mailing_id)

    def resume_mailing(self, mailing_id: int) -> MailingRecord:
        return self._mailing_action(Action.MAILING_RESUME, self.mailings.resume, mailing_id)

    def cancel_mailing(self, mailing_id: int) -> MailingRecord:
        return self._mailing_action(Action.MAILING_CANCEL, self.mailings.cancel, mailing_id)

    def audience_count(self, operator_codes: Iterable[str] = (), tags: Iterable[str] = ()) -> int:
        """How many clients a draft filter selects (invalid entries raise)."""
        return self.audience.count(operator_codes, tags)

    # --- messages and statistics ---------------------------------------------

    def get_message(self, message_id: int) -> MessageRecord:
        return self.mailings.get_message(message_id)

    def overall_stats(self) -> stats.OverallStats:
        return self.mailings.overall_stats()

    def mailing_stats(
        self,
        mailing_id: int,
        *,
        status: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> stats.MailingDetail:
        """Counts and one page of messages; an unknown ``status`` is bad input, not "none"."""
        return self.mailings.stats(mailing_id, status=status, offset=offset, limit=limit)

    # --- the sender's queue --------------------------------------------------

    def materialize_due(self, now: datetime | None = None) -> list[tuple[int, int]]:
        return self.dispatch.materialize_due(now)

    def recover_sending(self) -> int:
        return self.dispatch.recover_sending()

    @property
    def claim_owner(self) -> str:
        """Whom this store's claims name (``host:pid:random`` unless set)."""
        return self._ctx.claim_owner

    def set_claimant(self, owner: str | None = None, ttl: float | None = None) -> None:
        """Name the owner of this store's claims and how long each stays theirs unrenewed."""
        if owner is not None:
            self._ctx.claim_owner = owner
        if ttl is not None:
            if ttl <= 0:
                raise ValueError("a claim TTL is a positive number of seconds")
            self._ctx.claim_ttl = ttl

    def expire_claims(self, now: datetime | None = None) -> list[int]:
        """Give back (to pending, same id) every claim whose expiry passed; any process may."""
        return self.dispatch.expire_claims(now)

    def renew_claims(self, now: datetime | None = None) -> int:
        """Push back the expiry of this owner's claims (call more often than the TTL)."""
        return self.dispatch.renew_claims(now)

    def finalize(self, now: datetime | None = None) -> dict[str, list[int]]:
        return self.dispatch.finalize(now)

    def dispatch_step(
        self,
        now: datetime,
        free: int,
        *,
        check_version: bool,
        last_version: int | None,
        housekeeping: bool,
    ) -> DispatchStep:
        return self.dispatch.dispatch_step(
            now,
            free,
            check_version=check_version,
            last_version=last_version,
            housekeeping=housekeeping,
        )

    def claim_due(self, now: datetime | None = None, limit: int = 500) -> list[Claim]:
        return self.dispatch.claim_due(now, limit)

    def record_outcomes(self, outcomes: Iterable[Outcome]) -> int:
        return self.dispatch.record_outcomes(outcomes)

    def next_due_at(self, now: datetime | None = None) -> datetime | None:
        return self.dispatch.next_due_at(now)

    def open_messages(self) -> int:
        return self.dispatch.open_messages()

    # --- the sender lease ----------------------------------------------------

    def acquire_lease(
        self,
        owner: str,
        pid: int,
        host: str,
        role: str,
        ttl: float,
        now: datetime | None = None,
        *,
        dead_owner: str | None = None,
    ) -> bool:
        """Take the lease if free; taking it from another owner is recorded as a take-over.

        ``dead_owner`` names a holder whose process is known gone (see :meth:`Leases.acquire`).
        """
        with self._audited():
            before = self.leases.holder(1e9, now)  # any age: a stale holder is taken over too
            taken = self.leases.acquire(owner, pid, host, role, ttl, now, dead_owner=dead_owner)
            if taken and before is not None and before.owner != owner:
                self.audit.record(
                    Action.LEASE_TAKE_OVER,
                    "lease",
                    None,
                    {"holder": {"old": before.describe(), "new": f"{role} pid {pid} on {host}"}},
                )
        return taken

    def heartbeat(self, owner: str, now: datetime | None = None) -> bool:
        return self.leases.heartbeat(owner, now)

    def release_lease(self, owner: str) -> None:
        self.leases.release(owner)

    def lease_holder(self, ttl: float, now: datetime | None = None) -> LeaseInfo | None:
        return self.leases.holder(ttl, now)
