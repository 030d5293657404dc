"""An open store: its connection, its threads, its listeners and its parts.

:class:`OpenStore` is what every operation of the facade stands on. It opens
the database, builds the one :class:`StoreContext` the parts share, and
builds each part (:mod:`.clients`, :mod:`.imports`, :mod:`.mailings`,
:mod:`.audience`, :mod:`.dispatch`, :mod:`.lease`, :mod:`.audit`,
:mod:`.stoplist`, :mod:`.campaign`). Code on an event loop reaches the
store only through :meth:`OpenStore.run` (see :mod:`.threads`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from notifier_tui.core import rules
from notifier_tui.core.audit import Surface
from notifier_tui.core.clock import utcnow
from notifier_tui.core.store import schema as tables
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.audit import AuditTrail
from notifier_tui.core.store.base import StoreContext
from notifier_tui.core.store.campaign import Campaign
from notifier_tui.core.store.clients import Clients
from notifier_tui.core.store.dispatch import Dispatch, data_version
from notifier_tui.core.store.imports import Importer
from notifier_tui.core.store.lease import Leases
from notifier_tui.core.store.location import StoreLocation
from notifier_tui.core.store.mailings import Mailings
from notifier_tui.core.store.notices import Notices
from notifier_tui.core.store.stoplist import StopList
from notifier_tui.core.store.threads import StoreThreads

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
"""Store methods that only read: :meth:`OpenStore.run` runs them on the reader thread."""

BULK = frozenset({"import_csv", "import_rows"})
"""Long jobs :meth:`OpenStore.run` runs on a thread of their own (see imports.py)."""

P = ParamSpec("P")
T = TypeVar("T")


class OpenStore:
    """The connection, threads, listeners and parts of one open store."""

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
        self._notices = Notices(self.db)
        self._ctx = StoreContext(
            self.db, clock, rules.validate_timezone(default_timezone), self._notices.notify
        )
        self._threads = StoreThreads(self.db, self, reads=READS, bulk=BULK)
        self.audience = Audience(self._ctx)
        self.clients = Clients(self._ctx, self.audience)
        self.importer = Importer(self._ctx, self.audience)
        self.mailings = Mailings(self._ctx, self.audience)
        self.dispatch = Dispatch(self._ctx, self.audience)
        self.leases = Leases(self._ctx)
        self.audit = AuditTrail(self._ctx, surface)
        self.stoplist = StopList(self._ctx, self.audience)
        self.campaign = Campaign(self._ctx)

    def _audited(self) -> AbstractContextManager[None]:
        """One transaction for a change and its audit row (see :mod:`.notices`)."""
        return self._notices.audited()

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._ctx.clock

    @clock.setter
    def clock(self, value: Callable[[], datetime]) -> None:
        self._ctx.clock = value

    @property
    def default_timezone(self) -> str:
        return self._ctx.default_timezone

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store method on the store's own thread, off the event loop.

        The screens' reads (:data:`READS`) run on a second thread with its own
        read-only connection, long imports (:data:`BULK`) on a third; every
        other call on the one writer thread.
        """
        return await self._threads.run(fn, *args, **kwargs)

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after each committed write."""
        self._notices.add(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        self._notices.remove(callback)

    def data_version(self) -> int:
        """Changes when another connection (another process) commits to the file."""
        return data_version(self.db)

    def close(self) -> None:
        self._threads.close()
        self.db.close()
        tables.release_database(self.db)
