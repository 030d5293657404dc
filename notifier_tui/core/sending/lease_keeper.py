"""The sender lease as seen by one process: take it, keep it fresh, know when it is not.

One loop, one heartbeat in flight at a time: a renewal that is stuck behind a
blocked store (another process holding the write lock for seconds) is waited
for, never piled up behind.

Freshness: a renewal writes its timestamp on the store's thread, when the
store runs it; every process judges the lease by that timestamp plus the TTL.
This process sends only until that timestamp plus ``deadline``
(``deadline = DEADLINE_SHARE * ttl``, less than the TTL): past it,
:meth:`LeaseKeeper.may_send` is False, nothing is claimed or started, and
sending resumes by itself once the next renewal lands. The margin
``ttl - deadline`` covers the gap between the check and the request leaving.

Taking over from another process (its lease expired but its row is still
there): the new holder waits ``takeover_grace`` seconds before recovering the
``sending`` messages and claiming, so a holder that was only slow (suspended,
not dead) can still write the answers of the requests it had in flight;
recovering them earlier would send them a second time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from notifier_tui.core import events as ev
from notifier_tui.core.records import LeaseInfo
from notifier_tui.core.sending.claims import SharedClaims
from notifier_tui.core.sending.local_process import gone_here, this_host
from notifier_tui.core.sending.timer import Timer
from notifier_tui.core.store import Store

log = logging.getLogger("notifier_tui.sender")

DEADLINE_SHARE = 0.6
"""Share of the TTL after a renewal's submission during which this process may send."""


_ANY_AGE = 100 * 365 * 86400.0
"""A TTL no lease row is older than: ``lease_holder`` with it returns any row there is."""


@dataclass(frozen=True, slots=True)
class LeaseSettings:
    owner: str
    role: str
    ttl: float
    auto_takeover: bool
    """Take a lease whose holder died without asking (the UI asks the user)."""
    takeover_grace: float
    """Seconds to wait after taking over another process's lease before recovering."""

    @property
    def deadline(self) -> float:
        return DEADLINE_SHARE * self.ttl

    @property
    def interval(self) -> float:
        """Seconds between renewals: several chances before the deadline passes."""
        return min(1.0, self.ttl / 5)


@dataclass(frozen=True, slots=True)
class _Acquire:
    taken: bool
    previous: LeaseInfo | None
    """The row before, live or not: another owner's means a take-over."""
    holder: LeaseInfo | None
    """The live holder after the attempt."""
    stamp: datetime
    """The store's time of the attempt (the heartbeat written if taken)."""
    previous_gone: bool = False
    """The previous holder ran on this host and its process is gone: no answers will come."""


def _acquire(store: Store, owner: str, role: str, ttl: float, allowed: bool) -> _Acquire:
    """On the store's thread: take the lease if free (and allowed), else say who holds it.

    A holder on this host whose pid is gone (kill -9, a closed terminal) holds
    nothing: it is seen at the next look (about a second), not a TTL later.
    """
    now = store.clock()
    previous = store.lease_holder(_ANY_AGE, now)
    holder = store.lease_holder(ttl, now)
    dead: str | None = None
    if holder is not None and holder.owner != owner and gone_here(holder.host, holder.pid):
        dead, holder = holder.owner, None
    gone = (
        previous is not None and previous.owner != owner and gone_here(previous.host, previous.pid)
    )
    if holder is not None and holder.owner == owner:
        allowed = True  # a live lease in our name is ours (a restart within the TTL)
    elif holder is not None or not allowed:
        return _Acquire(False, previous, holder, now, gone)
    taken = store.acquire_lease(owner, os.getpid(), this_host(), role, ttl, now, dead_owner=dead)
    return _Acquire(taken, previous, holder if not taken else None, now, gone)


def _renew(store: Store, owner: str) -> datetime | None:
    """On the store's thread: renew our lease; the timestamp written, or None if it is gone."""
    now = store.clock()
    return now if store.heartbeat(owner, now) else None


class LeaseKeeper:
    """Holds, renews or waits for the lease; tells the sender when it gains or loses it."""

    def __init__(
        self,
        store: Store,
        settings: LeaseSettings,
        *,
        timer: Timer,
        clock: Callable[[], datetime],
        emit: Callable[[ev.Event], None],
        on_gained: Callable[[], Awaitable[None]],
        on_lost: Callable[[], Awaitable[None]],
    ) -> None:
        self.store = store
        self.settings = settings
        self._timer = timer
        self._clock = clock
        self._emit = emit
        self._on_gained = on_gained
        self._on_lost = on_lost
        self.is_holder = False
        self.holder: str | None = None
        """Who sends when we do not (a description), None if nobody or we do."""
        self._fresh_until = -math.inf
        self._late = False
        self._wake = asyncio.Event()
        self._takeover_requested = False
        self._seen_other = False
        self._announced = False
        self.shared: SharedClaims | None = None
        """Set on a store several senders share: claiming no longer needs the lease."""

    # --- what the others ask ---------------------------------------------------

    def may_send(self) -> bool:
        """Whether this process may claim and start requests now.

        Alone on a store: while it holds a fresh lease. Sharing it (claims.py):
        while its claims' last renewal is fresh, leader or not.
        """
        if self.shared is not None:
            return self.shared.may_send()
        return self.is_holder and self._timer.monotonic() < self._fresh_until

    @property
    def fresh_until(self) -> float:
        """Monotonic time after which nothing may start until the next renewal."""
        return self._fresh_until

    def request_takeover(self) -> None:
        """Take the lease as soon as it is free (the UI's 'take over sending')."""
        self._takeover_requested = True
        self._wake.set()

    # --- the loop --------------------------------------------------------------

    async def run(self) -> None:
        """Renew or look for the lease every interval until cancelled."""
        while True:
            try:
                await self.round()
            except Exception as err:  # a store error: the next round tries again
                log.exception("lease heartbeat failed")
                self._emit(ev.SenderError("lease heartbeat", repr(err)))
            await self._timer.wait(self._wake, self.settings.interval)
            self._wake.clear()

    async def round(self) -> None:
        """One renewal (as holder) or one look at the lease (otherwise)."""
        if self.is_holder:
            await self._renew()
        else:
            await self._look()

    def _stamp_fresh(self, stamp: datetime) -> None:
        """Fresh until ``deadline`` after the timestamp the store wrote, in monotonic time."""
        written_ago = (self._clock() - stamp).total_seconds()
        self._fresh_until = self._timer.monotonic() - max(0.0, written_ago) + self.settings.deadline

    async def _renew(self) -> None:
        call = asyncio.ensure_future(self.store.run(_renew, self.store, self.settings.owner))
        done = asyncio.Event()
        call.add_done_callback(lambda _: done.set())
        try:
            # Past the deadline the gate closes by itself; say so once, then keep
            # waiting for this same heartbeat rather than starting another.
            left = self._fresh_until - self._timer.monotonic()
            if not await self._timer.wait(done, left) and not self._late:
                self._late = True
                log.warning("lease renewal is late (store busy): claiming and sending suspended")
            stamp = await call
        except BaseException:
            call.cancel()
            raise
        if stamp is None:
            log.warning("sender lease lost to another process; dispatch stops")
            await self.lose()
            return
        self._stamp_fresh(stamp)
        if self._late:
            self._late = False
            log.info("lease renewed: sending resumes")

    async def _look(self) -> None:
        s = self.settings
        allowed = s.auto_takeover or self._takeover_requested or not self._seen_other
        got = await self.store.run(_acquire, self.store, s.owner, s.role, s.ttl, allowed)
        if got.taken:
            # A gone holder sends no more answers: nothing to wait for.
            takeover = got.previous is not None and got.previous.owner != s.owner
            await self._become_holder(got.stamp, takeover and not got.previous_gone)
            return
        if got.holder is not None:
            self._seen_other = True
        description = got.holder.describe() if got.holder else None
        if description != self.holder or not self._announced:
            self._announced = True
            self.holder = description
            log.info("sending is done by %s", description or "nobody")
            self._emit(ev.LeaseChanged(False, description))

    async def _become_holder(self, stamp: datetime, takeover: bool) -> None:
        self.is_holder, self.holder, self._announced = True, None, True
        self._takeover_requested = False
        self._stamp_fresh(stamp)
        log.info("sender lease acquired owner=%s", self.settings.owner)
        if takeover and self.settings.takeover_grace > 0:
            log.info(
                "taking over from another process: waiting %.1fs for its last answers",
                self.settings.takeover_grace,
            )
            deadline = self._timer.monotonic() + self.settings.takeover_grace
            while self._timer.monotonic() < deadline:
                await self._timer.sleep(
                    min(self.settings.interval, deadline - self._timer.monotonic())
                )
                await self._renew()
                if not self.is_holder:
                    return
        await self._on_gained()

    async def lose(self) -> None:
        """Stop being the holder (the lease went to another process)."""
        if not self.is_holder:
            return
        self.is_holder = False
        self._fresh_until = -math.inf
        await self._on_lost()
        self._emit(ev.LeaseChanged(False, None))

    async def release(self) -> None:
        """Give the lease back (a clean stop)."""
        if self.is_holder:
            self.is_holder = False
            self._fresh_until = -math.inf
            await self.store.run(self.store.release_lease, self.settings.owner)
            log.info("sender stopped; lease released")
