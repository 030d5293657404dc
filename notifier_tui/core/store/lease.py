"""The sender lease: one row naming the process that sends for this store.

A holder renews its heartbeat every second or so; a lease whose heartbeat is
older than the TTL is free, so a crashed holder is replaced within seconds.

Each taking of the lease by a new holder gets the next *epoch* (kept in
``meta`` so it never goes back, even after a release deletes the row); the
same holder renewing keeps its epoch. Claims are stamped with the claimer's
epoch, so a takeover returns to ``pending`` only what earlier holders left
``sending``, never what was claimed under the lease that is current.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from notifier_tui.core.records import LeaseInfo
from notifier_tui.core.store import dialect
from notifier_tui.core.store.base import Part
from notifier_tui.core.store.schema import Lease, set_meta
from notifier_tui.core.store.sqlutil import execute


class Leases(Part):
    """The one row in the ``lease`` table."""

    @staticmethod
    def _lease(row: Lease) -> LeaseInfo:
        return LeaseInfo(row.owner, row.pid, row.host, row.role, row.acquired_at, row.heartbeat_at)

    def acquire(
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
        """Take the sender lease if it is free, ours, or its holder stopped beating.

        ``dead_owner``: the caller saw this holder's process gone (same host,
        no such pid): its row is free however fresh. Named rather than implied,
        so a live process that took the lease meanwhile is never pushed out.
        """
        now = now or self.clock()
        with self.db.atomic("IMMEDIATE"):
            # PostgreSQL: BEGIN IMMEDIATE's one-writer-at-a-time, for this one decision.
            dialect.serialize(self.db, dialect.LEASE_LOCK)
            row = Lease.get_or_none(Lease.id == 1)
            if (
                row is not None
                and row.owner not in (owner, dead_owner)
                and row.heartbeat_at > now - timedelta(seconds=ttl)
            ):
                return False
            if row is not None and row.owner == owner:
                acquired, epoch = row.acquired_at, int(row.epoch)
            else:
                acquired, epoch = now, self._next_epoch()
            execute(
                self.db,
                "INSERT INTO lease"
                " (id, owner, pid, host, role, acquired_at, heartbeat_at, epoch)"
                " VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " owner = excluded.owner, pid = excluded.pid, host = excluded.host,"
                " role = excluded.role, acquired_at = excluded.acquired_at,"
                " heartbeat_at = excluded.heartbeat_at, epoch = excluded.epoch",
                (owner, pid, host, role, acquired.timestamp(), now.timestamp(), epoch),
            )
        self.ctx.lease_epoch = epoch
        return True

    def _next_epoch(self) -> int:
        row = execute(self.db, "SELECT value FROM meta WHERE key = 'lease_epoch'").fetchone()
        epoch = (int(row[0]) if row else 0) + 1
        set_meta(self.db, "lease_epoch", str(epoch))
        return epoch

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
            gone = Lease.delete().where((Lease.id == 1) & (Lease.owner == owner)).execute()
        if int(gone):
            self.ctx.lease_epoch = None

    def holder(self, ttl: float, now: datetime | None = None) -> LeaseInfo | None:
        """Who holds a live lease, if anyone."""
        now = now or self.clock()
        row = Lease.get_or_none(Lease.id == 1)
        if row is None or row.heartbeat_at <= now - timedelta(seconds=ttl):
            return None
        return self._lease(row)
