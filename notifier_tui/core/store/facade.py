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
import functools
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from notifier_tui.core import rules, stats
from notifier_tui.core.records import (
    Claim,
    ClientRecord,
    ImportResult,
    LeaseInfo,
    MailingRecord,
    MessageRecord,
    Outcome,
)
from notifier_tui.core.store import schema as tables
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.base import StoreContext
from notifier_tui.core.store.clients import Clients
from notifier_tui.core.store.csvio import read_client_csv
from notifier_tui.core.store.dispatch import Dispatch, DispatchStep, data_version
from notifier_tui.core.store.imports import Importer
from notifier_tui.core.store.lease import Leases
from notifier_tui.core.store.mailings import Mailings

P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["Store", "read_client_csv", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """A validated view of one SQLite store file."""

    def __init__(
        self,
        path: Path | str,
        *,
        default_timezone: str = "Europe/Moscow",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.path = Path(path)
        self.db = tables.open_database(self.path)
        self._ctx = StoreContext(
            self.db, clock, rules.validate_timezone(default_timezone), self._notify
        )
        self._executor: ThreadPoolExecutor | None = None
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.audience = Audience(self._ctx)
        self.clients = Clients(self._ctx, self.audience)
        self.importer = Importer(self._ctx, self.audience)
        self.mailings = Mailings(self._ctx, self.audience)
        self.dispatch = Dispatch(self._ctx, self.audience)
        self.leases = Leases(self._ctx)

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
        """Run a store method on the store's own thread, off the event loop."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="notifier-db")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after each committed write."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()

    def data_version(self) -> int:
        """Changes when another connection (another process) commits to the file."""
        return data_version(self.db)

    def close(self) -> None:
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
        return self.clients.create(phone, tag, timezone, operator_code)

    def update_client(
        self,
        client_id: int,
        *,
        phone: str | None = None,
        tag: str | None = None,
        timezone: str | None = None,
        operator_code: str | None = None,
    ) -> ClientRecord:
        return self.clients.update(
            client_id, phone=phone, tag=tag, timezone=timezone, operator_code=operator_code
        )

    def delete_client(self, client_id: int) -> None:
        self.clients.delete(client_id)

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
        return self.importer.import_rows(rows, skip_invalid=skip_invalid)

    def import_csv(self, path: Path | str, *, skip_invalid: bool = False) -> ImportResult:
        """Import clients from a CSV with header ``phone,tag,timezone[,operator_code]``."""
        return self.importer.import_rows(read_client_csv(path), skip_invalid=skip_invalid)

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
        return self.mailings.create(start_at, end_at, text, operator_codes, tags, window)

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
        return self.mailings.update(
            mailing_id,
            start_at=start_at,
            end_at=end_at,
            text=text,
            operator_codes=operator_codes,
            tags=tags,
            window=window,
        )

    def delete_mailing(self, mailing_id: int) -> None:
        self.mailings.delete(mailing_id)

    def pause_mailing(self, mailing_id: int) -> MailingRecord:
        return self.mailings.pause(mailing_id)

    def resume_mailing(self, mailing_id: int) -> MailingRecord:
        return self.mailings.resume(mailing_id)

    def cancel_mailing(self, mailing_id: int) -> MailingRecord:
        return self.mailings.cancel(mailing_id)

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
        return self.leases.acquire(owner, pid, host, role, ttl, now)

    def heartbeat(self, owner: str, now: datetime | None = None) -> bool:
        return self.leases.heartbeat(owner, now)

    def release_lease(self, owner: str) -> None:
        self.leases.release(owner)

    def lease_holder(self, ttl: float, now: datetime | None = None) -> LeaseInfo | None:
        return self.leases.holder(ttl, now)
