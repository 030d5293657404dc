"""The sender's part in the store-wide picture: its registry row and the shared stops.

Once a second, on the store's thread, :class:`FleetLink`:

1. keeps the store-wide credentials stop (core/store/control.py) and this
   sender's own stop in step: a refusal seen here sets the flag; a flag set
   by another sender stops this one; a flag cleared by anyone (the CLI's
   ``sender resume``, a UI, a new token) lifts the stop here;
2. publishes this process's row in the worker registry
   (core/store/workers.py) with its live figures, so processes that do not
   send show them (core/standby.py);
3. when this process holds the lease (the leader), deletes the rows of
   processes that have stopped beating.

A failed pass is logged and the next one tries again: figures that cannot be
published must never stop the sending.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

from notifier_tui.core import events as ev
from notifier_tui.core.sending.timer import Timer
from notifier_tui.core.store import Store
from notifier_tui.core.store import control as store_control
from notifier_tui.core.store import workers as registry
from notifier_tui.core.store.control import CredentialsFlag
from notifier_tui.core.store.workers import WorkerStatus

__all__ = ["FleetLink", "figures_of", "stale_after"]

log = logging.getLogger("notifier_tui.sender")

INTERVAL = 1.0
"""Seconds between passes: the figures' age and the credentials stop's reach."""
HISTORY = 60
"""Seconds of send-rate history published (the row stays small)."""
SERIES_STEP = 10.0
"""Seconds per point of the published outcome series (the sender keeps one a second)."""


def stale_after(lease_ttl: float) -> float:
    """Seconds without a heartbeat after which a registry row is ignored and cleaned."""
    return max(3 * lease_ttl, 5.0)


def figures_of(snapshot: ev.SenderSnapshot) -> dict[str, Any]:
    """The live figures of a snapshot as the registry stores them (JSON)."""
    return {
        "health": str(snapshot.health),
        "breaker": str(snapshot.breaker),
        "next_probe_at": snapshot.next_probe_at.timestamp() if snapshot.next_probe_at else None,
        "in_flight": snapshot.in_flight,
        "rate": snapshot.rate,
        "latency_p50": snapshot.latency_p50,
        "latency_p95": snapshot.latency_p95,
        "error_rate": snapshot.error_rate,
        "sent": snapshot.sent_total,
        "failed": snapshot.failed_total,
        "retries": snapshot.retries_total,
        "credentials_error": snapshot.credentials_error,
        "gateway_problem": snapshot.gateway_problem,
        "requests_by_outcome": dict(snapshot.requests_by_outcome),
        "rate_history": list(snapshot.rate_history[-HISTORY:]),
        # The charts' series, coarse enough to keep the row near a kilobyte: 10 s
        # steps over 5 minutes, never raw samples (core/standby.py reads them back).
        "series_window": snapshot.series_window,
        "outcome_step": _per(snapshot) * snapshot.outcome_step,
        "outcomes": _coarse_outcomes(snapshot),
        "latency_step": snapshot.latency_step,
        "latency_history": [
            None if p.p50 is None else [_round(p.p50, 4), _round(p.p95, 4)]
            for p in snapshot.latency_history
        ],
        "errors_by_class": dict(snapshot.errors_by_class),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _per(snapshot: ev.SenderSnapshot) -> int:
    """Points of the snapshot's outcome series that make one published point."""
    return max(1, round(SERIES_STEP / snapshot.outcome_step))


def _coarse_outcomes(snapshot: ev.SenderSnapshot) -> list[list[float]]:
    """The outcome rates as means over :data:`SERIES_STEP` seconds, oldest first."""
    per = _per(snapshot)
    rates = snapshot.outcome_history
    # Steps are counted back from the newest second, so the last one is always whole.
    start = len(rates) % per
    return [
        [round(sum(column) / per, 2) for column in zip(*rates[i : i + per], strict=True)]
        for i in range(start, len(rates), per)
    ]


class FleetLink:
    """One sender's row in the registry, and its side of the shared credentials stop."""

    def __init__(
        self,
        store: Store,
        *,
        owner: str,
        role: str,
        lease_ttl: float,
        timer: Timer,
        clock: Callable[[], datetime],
        snapshot: Callable[[], ev.SenderSnapshot],
        is_leader: Callable[[], bool],
        is_sending: Callable[[], bool],
        rate_limit: float,
        set_rate: Callable[[float], None],
        local_stop: Callable[[], str | None],
        engage: Callable[[CredentialsFlag], None],
        lift: Callable[[str], None],
    ) -> None:
        """Args:
        store: The store shared with the other senders.
        owner: This sender's lease owner string (unique per process).
        role: ``daemon``, ``ui``, ``worker``...
        lease_ttl: To tell a live row from a dead one.
        timer: Sleeps.
        clock: Wall time written in the rows.
        snapshot: This sender's live figures.
        is_leader: Whether this process holds the lease now.
        is_sending: Whether it sends (the leader; any worker on a shared store).
        rate_limit: The store-wide rate limit (0: none), shared among the senders.
        set_rate: Use this rate from now on (the sender's token bucket).
        local_stop: This sender's credentials stop reason, or None.
        engage: Stop this sender because the store says so.
        lift: Resume this sender because the flag was cleared (the reason).
        """
        self._store = store
        self._registry = registry.for_store(store)
        self._control = store_control.for_store(store)
        self.owner = owner
        self.role = role
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._ttl = lease_ttl
        self._timer = timer
        self._clock = clock
        self._snapshot = snapshot
        self._is_leader = is_leader
        self._is_sending = is_sending
        self.rate_limit = rate_limit
        self._set_rate = set_rate
        self.share: float | None = None
        """This process's part of the rate limit, once one is set."""
        self._local_stop = local_stop
        self._engage = engage
        self._lift = lift
        self.started_at = clock()
        self._flagged = False
        """The store's flag was seen set (by us or another) and not yet seen cleared."""
        self._clear_requested: str | None = None
        self._wake = asyncio.Event()

    def describe(self) -> str:
        return f"{self.role} pid {self.pid} on {self.host}"

    def request_clear(self, reason: str) -> None:
        """This sender resumed (user, token, probe): clear the store's flag at the next pass."""
        self._clear_requested = reason
        self._wake.set()

    def nudge(self) -> None:
        """Run a pass now (a refusal was just seen)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:  # the next pass tries again; sending goes on meanwhile
                log.exception("publishing this sender's status to the store failed")
            self._wake.clear()
            await self._timer.wait(self._wake, INTERVAL)

    async def step(self) -> None:
        """One pass: the credentials stop, then the registry row."""
        clear, self._clear_requested = self._clear_requested, None
        if clear is not None:
            flag = await self._store.run(self._control.clear_credentials_stop)
            self._flagged = False
            if flag is not None:
                log.info("credentials stop lifted for every sender of the store: %s", clear)
        local = self._local_stop()
        if local is not None and not self._flagged:
            if await self._store.run(self._control.stop_for_credentials, local, self.describe()):
                log.error("credentials stop set for every sender of the store: %s", local)
            self._flagged = True
        else:
            flag = await self._store.run(self._control.credentials_stop)
            if flag is not None:
                self._flagged = True
                if self._local_stop() is None:
                    log.error(
                        "dispatch stopped: %s saw the token refused (%s)", flag.by, flag.reason
                    )
                    self._engage(flag)
            elif self._flagged:
                self._flagged = False
                if self._local_stop() is not None:
                    self._lift("credentials stop cleared in the store")
        status = WorkerStatus(
            owner=self.owner,
            host=self.host,
            pid=self.pid,
            role=self.role,
            leader=self._is_leader(),
            sending=self._is_sending(),
            started_at=self.started_at,
            heartbeat_at=self._clock(),
            figures=figures_of(self._snapshot()),
        )
        await self._store.run(self._registry.publish, status)
        if status.leader:
            gone = await self._store.run(self._registry.prune, stale_after(self._ttl))
            if gone:
                log.info("%d stale worker row(s) removed from the store", gone)
        if self.rate_limit > 0:
            await self._share_rate(status.leader)

    async def _share_rate(self, leader: bool) -> None:
        """The store-wide rate limit split evenly among the senders that send now.

        The leader writes each live sender's share into its row; every sender
        uses its own row's share. Until the leader has written one (a new
        worker, a leader just gone), a sender takes the same even split from
        the rows it sees, so the store never runs at N times the limit.
        """
        rows = await self._store.run(self._registry.live, stale_after(self._ttl))
        senders = [r for r in rows if r.sending]
        if not self._is_sending():
            return
        count = max(1, len(senders) + (0 if any(r.owner == self.owner for r in senders) else 1))
        even = self.rate_limit / count
        if leader:
            shares: dict[str, float | None] = {r.owner: even for r in senders}
            shares[self.owner] = even
            await self._store.run(self._registry.set_shares, shares)
        mine = next((r.share for r in senders if r.owner == self.owner), None)
        share = even if mine is None or leader else min(mine, self.rate_limit)
        if share != self.share:
            log.info("rate share %.1f msg/s of %.1f (%d sender(s))", share, self.rate_limit, count)
            self.share = share
            self._set_rate(share)

    async def leave(self) -> None:
        """At a clean stop: take this process's row away."""
        await self._store.run(self._registry.remove, self.owner)
