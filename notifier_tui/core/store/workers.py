"""The worker registry: one row per sender process, with its live figures.

Every sender process (a daemon, a ``--workers`` child, a UI that sends)
upserts its row about once a second: who it is (owner, host, pid, role),
whether it holds the lease (the leader), whether it sends, and its live
figures as JSON (rate, latency of answered requests, errors by class,
breaker, in flight, retries, sent). A process that does not send reads
these rows to show the real figures of whoever does (core/standby.py),
never zeros of its own. A row whose heartbeat is older than a few lease
TTLs belongs to a process that died: readers skip it and the leader's
housekeeping deletes it.

The rows never wake the store's listeners: they are figures, not data the
sender acts on. The table is made by the first process that publishes
(``CREATE TABLE IF NOT EXISTS``, the same SQL on both backends) rather than
by a schema step, so a store that no sender has touched simply has no
workers to show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from notifier_tui.core.store.base import Part
from notifier_tui.core.store.sqlutil import execute

if TYPE_CHECKING:
    from notifier_tui.core.store.facade import Store

__all__ = ["WorkerRegistry", "WorkerStatus"]

_COLUMNS = "owner, host, pid, role, leader, sending, started_at, heartbeat_at, share, figures"


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """One sender process as it last reported itself."""

    owner: str
    host: str
    pid: int
    role: str
    leader: bool
    """Holds the sender lease: does the store-wide work (and, on SQLite, all the sending)."""
    sending: bool
    """Sends messages now (on SQLite only the leader does)."""
    started_at: datetime
    heartbeat_at: datetime
    figures: dict[str, Any] = field(default_factory=dict)
    """The live figures: see :func:`notifier_tui.core.sending.publish.figures_of`."""
    share: float | None = None
    """Messages per second the leader handed this worker (None: no share set)."""

    def describe(self) -> str:
        """As the UI says who sends: ``daemon pid 4242 on host``."""
        return f"{self.role} pid {self.pid} on {self.host}"


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(float(value), UTC)


_TABLE = (
    'CREATE TABLE IF NOT EXISTS "sender_status" ("owner" VARCHAR(255) NOT NULL PRIMARY KEY,'
    ' "host" VARCHAR(255) NOT NULL, "pid" INTEGER NOT NULL, "role" VARCHAR(32) NOT NULL,'
    ' "leader" INTEGER NOT NULL, "sending" INTEGER NOT NULL,'
    ' "started_at" DOUBLE PRECISION NOT NULL, "heartbeat_at" DOUBLE PRECISION NOT NULL,'
    ' "share" DOUBLE PRECISION, "figures" TEXT NOT NULL)'
)


class WorkerRegistry(Part):
    """The ``sender_status`` table."""

    _exists = False

    def _ensure(self) -> None:
        if not self._exists:
            execute(self.db, _TABLE)
            self._exists = True

    def _readable(self) -> bool:
        if not self._exists:
            self._exists = bool(self.db.table_exists("sender_status"))
        return self._exists

    def publish(self, status: WorkerStatus) -> None:
        """Insert or refresh this process's row (the share is the leader's, kept)."""
        with self.db.atomic():
            self._ensure()
            execute(
                self.db,
                "INSERT INTO sender_status (owner, host, pid, role, leader, sending,"
                " started_at, heartbeat_at, figures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (owner) DO UPDATE SET host = excluded.host,"
                " pid = excluded.pid, role = excluded.role, leader = excluded.leader,"
                " sending = excluded.sending, heartbeat_at = excluded.heartbeat_at,"
                " figures = excluded.figures",
                (
                    status.owner,
                    status.host,
                    status.pid,
                    status.role,
                    int(status.leader),
                    int(status.sending),
                    _ts(status.started_at),
                    _ts(status.heartbeat_at),
                    json.dumps(status.figures, sort_keys=True),
                ),
            )

    def live(self, max_age: float, now: datetime | None = None) -> list[WorkerStatus]:
        """Rows whose heartbeat is younger than ``max_age`` seconds, the leader first."""
        if not self._readable():
            return []
        now = now or self.clock()
        since = _ts(now - timedelta(seconds=max_age))
        rows = execute(
            self.db,
            f"SELECT {_COLUMNS} FROM sender_status WHERE heartbeat_at > ?"
            " ORDER BY leader DESC, started_at, owner",
            (since,),
        ).fetchall()
        return [_status(row) for row in rows]

    def get(self, owner: str) -> WorkerStatus | None:
        if not self._readable():
            return None
        row = execute(
            self.db, f"SELECT {_COLUMNS} FROM sender_status WHERE owner = ?", (owner,)
        ).fetchone()
        return _status(row) if row else None

    def remove(self, owner: str) -> None:
        """A process that stops cleanly takes its row away."""
        if not self._readable():
            return
        with self.db.atomic():
            execute(self.db, "DELETE FROM sender_status WHERE owner = ?", (owner,))

    def prune(self, max_age: float, now: datetime | None = None) -> int:
        """Delete rows of processes silent for ``max_age`` seconds; returns how many."""
        if not self._readable():
            return 0
        now = now or self.clock()
        since = _ts(now - timedelta(seconds=max_age))
        with self.db.atomic():
            cursor = execute(self.db, "DELETE FROM sender_status WHERE heartbeat_at <= ?", (since,))
        return max(0, int(cursor.rowcount))

    def set_shares(self, shares: dict[str, float | None]) -> None:
        """The leader hands each live worker its part of the store's rate limit."""
        if not shares or not self._readable():
            return
        with self.db.atomic():
            for owner, share in shares.items():
                execute(
                    self.db,
                    "UPDATE sender_status SET share = ? WHERE owner = ?",
                    (share, owner),
                )


def claim_owners(registry: WorkerRegistry) -> list[str]:
    """Who holds the messages now ``sending`` (their claims' owners)."""
    rows = execute(
        registry.db,
        "SELECT DISTINCT claim_owner FROM message"
        " WHERE status = 'sending' AND claim_owner IS NOT NULL",
    ).fetchall()
    return [str(owner) for (owner,) in rows]


def expire_now(registry: WorkerRegistry, owner: str, now: datetime) -> int:
    """Make ``owner``'s claims due for expiry now (its process is known dead)."""
    with registry.db.atomic():
        cursor = execute(
            registry.db,
            "UPDATE message SET claim_expires_at = ? WHERE status = 'sending' AND claim_owner = ?",
            (_ts(now), owner),
        )
    return max(0, int(cursor.rowcount))


def _status(row: tuple[Any, ...]) -> WorkerStatus:
    owner, host, pid, role, leader, sending, started, beat, share, figures = row
    try:
        parsed = json.loads(figures) if figures else {}
    except ValueError:  # a row written by something else: show it without figures
        parsed = {}
    return WorkerStatus(
        owner=str(owner),
        host=str(host),
        pid=int(pid),
        role=str(role),
        leader=bool(leader),
        sending=bool(sending),
        started_at=_dt(started),
        heartbeat_at=_dt(beat),
        figures=parsed if isinstance(parsed, dict) else {},
        share=None if share is None else float(share),
    )


def for_store(store: Store) -> WorkerRegistry:
    """This part over an open store's shared context (the facade does not build it)."""
    return WorkerRegistry(store.leases.ctx)
