"""The sender lease: one row naming the process that sends for this store.

A holder renews its heartbeat every second or so; a lease whose heartbeat is
older than the TTL is free, so a crashed holder is replaced within seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from notifier_tui.core.records import LeaseInfo
from notifier_tui.core.store.base import Part
from notifier_tui.core.store.schema import Lease
from notifier_tui.core.store.sqlutil import execute


class Leases(Part):
    """The one row in the ``lease`` table."""

    @staticmethod
    def _lease(row: Lease) -> LeaseInfo:
        return LeaseInfo(row.owner, row.pid, row.host, row.role, row.acquired_at, row.heartbeat_at)

    def acquire(
        self, owner: str, pid: int, host: str, role: str, ttl: float, now: datetime | None = None
    ) -> bool:
        """Take the sender lease if it is free, ours, or its holder stopped beating."""
        now = now or self.clock()
        with self.db.atomic("IMMEDIATE"):
            row = Lease.get_or_none(Lease.id == 1)
            if (
                row is not None
                and row.owner != owner
                and row.heartbeat_at > now - timedelta(seconds=ttl)
            ):
                return False
            acquired = row.acquired_at if row is not None and row.owner == owner else now
            execute(
                self.db,
                "INSERT OR REPLACE INTO lease"
                " (id, owner, pid, host, role, acquired_at, heartbeat_at)"
                " VALUES (1, ?, ?, ?, ?, ?, ?)",
                (owner, pid, host, role, acquired.timestamp(), now.timestamp()),
            )
        return True

    def heartbeat(self, owner: str, now: datetime | None = None) -> bool:
        """Renew our lease; False means another process took it."""
        now = now or self.clock()
        with self.db.atomic():
            changed = (
                Lease.update(heartbeat_at=now)
                .where((Lease.id == 1) & (Lease.owner == owner))
                .execute()
            )
        return int(changed) == 1

    def release(self, owner: str) -> None:
        with self.db.atomic():
            Lease.delete().where((Lease.id == 1) & (Lease.owner == owner)).execute()

    def holder(self, ttl: float, now: datetime | None = None) -> LeaseInfo | None:
        """Who holds a live lease, if anyone."""
        now = now or self.clock()
        row = Lease.get_or_none(Lease.id == 1)
        if row is None or row.heartbeat_at <= now - timedelta(seconds=ttl):
            return None
        return self._lease(row)
