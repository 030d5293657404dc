"""The operations the UI, the command line and the sender call.

Every method here is synchronous and validated; nothing is written unless the
whole input is valid. The command line calls them directly. Code on an event
loop must go through :meth:`Store.run`, which executes them on the store's one
dedicated thread: peewee never runs on the loop, and that one thread owns one
connection, so writes from this process never contend with each other (WAL
lets other processes read beside it).

The facade only delegates: each job lives in its own part
(:mod:`.clients`, :mod:`.imports`, :mod:`.mailings`, :mod:`.audience`,
:mod:`.dispatch`, :mod:`.lease`), all sharing one :class:`StoreContext`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from notifier_tui.core import rules, stats
from notifier_tui.core.audit import Action, Surface, diff
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
from notifier_tui.core.store import dialect
from notifier_tui.core.store import schema as tables
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.audit import AuditTrail
from notifier_tui.core.store.audit_fields import client_fields, mailing_fields
from notifier_tui.core.store.base import StoreContext
from notifier_tui.core.store.campaign import Campaign
from notifier_tui.core.store.campaign_ops import CampaignOps
from notifier_tui.core.store.clients import Clients
from notifier_tui.core.store.csvio import read_client_csv
from notifier_tui.core.store.dispatch import Dispatch, DispatchStep, data_version
from notifier_tui.core.store.imports import Importer
from notifier_tui.core.store.lease import Leases
from notifier_tui.core.store.location import StoreLocation
from notifier_tui.core.store.mailings import Mailings
from notifier_tui.core.store.stoplist import StopList

READS = frozenset(
    {
        "get_client",
        "list_clients",
        "count_clients",
        "distinct_tags",
        "distinct_operators",
        "export_csv",
        "get_mailing",
        "list_mailings",
        "audience_count",
        "get_message",
        "overall_stats",
        "mailing_stats",
        "lease_holder",
    }
)
"""Store methods that only read: :meth:`Store.run` runs them on the reader thread."""

BULK = frozenset({"import_csv", "import_rows"})
"""Long jobs :meth:`Store.run` runs on a thread of their own (see imports.py)."""

P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["Store", "read_client_csv", "utcnow"]


class Store(CampaignOps):
    """A validated view of one SQLite store file.

    Every operator action (client and mailing changes, imports, pause, resume,
    cancel, stop-list changes, test sends, a lease take-over) appends an audit
    row in its own transaction; :attr:`surface` says which surface acted
    (``ui`` unless whoever opened the store sets ``cli``, ``api`` or ``daemon``).
    """

    def __init__(
        self,
        path: Path | str | StoreLocation,
        *,
        default_timezone: str = "Europe/Moscow",
        clock: Callable[[], datetime] = utcnow,
        surface: Surface | str = Surface.UI,
    ) -> None:
        self.location = StoreLocation.parse(path)
        # The file on SQLite; on PostgreSQL only the masked URL (nothing to open as a file).
        self.path = self.location.path or Path(self.location.masked())
        self.db = tables.open_database(self.location)
        self._ctx = StoreContext(
            self.db, clock, rules.validate_timezone(default_timezone), self._notify
        )
        self._executor: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._bulk: ThreadPoolExecutor | None = None
        self._listeners: list[Callable[[], None]] = []
        # Notices held back while an audited change is not yet committed (see _audited).
        self._holding = False
        self._held = False
        self._lock = threading.Lock()
        self.audience = Audience(self._ctx)
        self.clients = Clients(self._ctx, self.audience)
        self.importer = Importer(self._ctx, self.audience)
        self.mailings = Mailings(self._ctx, self.audience)
        self.dispatch = Dispatch(self._ctx, self.audience)
        self.leases = Leases(self._ctx)
        self.audit = AuditTrail(self._ctx, surface)
        self.stoplist = StopList(self._ctx, self.audience)
        self.campaign = Campaign(self._ctx)

    @contextlib.contextmanager
    def _audited(self) -> Iterator[None]:
        """One transaction for a change and its audit row; listeners hear after it commits.

        The parts' own ``@writes`` transactions nest inside it as savepoints,
        so their notices are held back here until the outer commit.
        """
        if self._holding:
            with self.db.atomic("IMMEDIATE"):
                yield
            return
        self._holding, self._held = True, False
        try:
            with self.db.atomic("IMMEDIATE"):
                yield
        finally:
            self._holding = False
        if self._held:
            self._notify()

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._ctx.clock

    @clock.setter
    def clock(self, value: Callable[[], datetime]) -> None:
        self._ctx.clock = value

    @property
    def default_timezone(self) -> str:
        return self._ctx.default_timezone

    # --- plumbing ------------------------------------------------------------

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store method on the store's own thread, off the event loop.

        The screens' reads (:data:`READS`) run on a second thread with its own
        read-only connection: WAL lets them read beside the writer, so a stats
        view over a million messages never delays the sender's claims and
        outcomes queued on the writer's thread, nor waits for them.
        """
        name = getattr(fn, "__name__", "") if getattr(fn, "__self__", None) is self else ""
        with self._lock:
            if name in READS:
                if self._reader is None:
                    self._reader = ThreadPoolExecutor(
                        1, thread_name_prefix="notifier-db-read", initializer=self._read_only
                    )
                executor = self._reader
            elif name in BULK:
                # An import validates and stages for many seconds without the file's
                # write lock (imports.py); on the writer's thread it would still stall
                # this process's sender behind it, so it gets its own thread and
                # connection, and only its final transaction contends for the lock.
                if self._bulk is None:
                    self._bulk = ThreadPoolExecutor(1, thread_name_prefix="notifier-db-bulk")
                executor = self._bulk
            else:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="notifier-db")
                executor = self._executor
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, functools.partial(fn, *args, **kwargs))

    def _read_only(self) -> None:
        # peewee keeps one connection per thread: this is the reader thread's own,
        # and read-only (query_only on SQLite) makes sure nothing run there can ever write.
        dialect.read_only(self.db)

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after each committed write."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self) -> None:
        if self._holding:
            self._held = True
            return
        for callback in list(self._listeners):
            callback()

    def data_version(self) -> int:
        """Changes when another connection (another process) commits to the file."""
        return data_version(self.db)

    def close(self) -> None:
        for extra in (self._reader, self._bulk):
            if extra is not None:
                extra.submit(self.db.close).result()
                extra.shutdown(wait=True)
        self._reader = self._bulk = None
        if self._executor is not None:
            self._executor.submit(self.db.close).result()
            self._executor.shutdown(wait=True)
            self._executor = None
        self.db.close()
        tables.release_database(self.db)

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
    ) -> list[ClientRecord]:
        return self.clients.page(search, tag=tag, operator=operator, offset=offset, limit=limit)

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
        self, owner: str, pid: int, host: str, role: str, ttl: float, now: datetime | None = None
    ) -> bool:
        """Take the lease if free; taking it from another owner is recorded as a take-over."""
        with self._audited():
            before = self.leases.holder(1e9, now)  # any age: a stale holder is taken over too
            taken = self.leases.acquire(owner, pid, host, role, ttl, now)
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
