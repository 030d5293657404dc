"""The dispatch loop: materialise audiences, finalise ended mailings, claim what is due.

Each pass is one trip to the store's thread (:meth:`Store.dispatch_step`),
made only while the lease is fresh and inside one write transaction that first
checks, on the store's own clock, that the lease is still ours: a pass queued
behind a blocked store never claims after the lease could have moved. Between
passes the loop sleeps until the next due instant, the poll interval, or a
wake-up (a store write, a freed slot, a retry written back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from notifier_tui.core import events as ev
from notifier_tui.core.records import Claim
from notifier_tui.core.sending.lease_keeper import LeaseKeeper
from notifier_tui.core.sending.timer import Timer
from notifier_tui.core.store import Store
from notifier_tui.core.store.dispatch import DispatchStep

log = logging.getLogger("notifier_tui.sender")

MIN_NAP = 0.01
"""The shortest sleep between passes, so nothing can spin the loop."""


class ClaimSink(Protocol):
    """What the loop feeds: the workers."""

    @property
    def accepting(self) -> bool: ...

    def free(self) -> int: ...

    def next_probe_at(self) -> float | None: ...

    def put(self, claim: Claim) -> None: ...


def guarded_step(
    store: Store,
    owner: str,
    max_age: float,
    now: datetime,
    free: int,
    *,
    check_version: bool,
    last_version: int | None,
    housekeeping: bool,
) -> DispatchStep | None:
    """On the store's thread: one dispatch pass if our lease is younger than ``max_age``.

    The check and the pass share one IMMEDIATE transaction, so no other process
    can take the lease between them. None means the lease is not ours (or too
    old): nothing was done.
    """
    if free <= 0 and not housekeeping and not check_version:
        # Only reads: no write lock to take, nothing a lost lease could spoil.
        return store.dispatch_step(
            now, 0, check_version=False, last_version=last_version, housekeeping=False
        )
    with store.db.atomic("IMMEDIATE"):
        holder = store.lease_holder(max_age)
        if holder is None or holder.owner != owner:
            return None
        return store.dispatch_step(
            now,
            free,
            check_version=check_version,
            last_version=last_version,
            housekeeping=housekeeping,
        )


class DispatchLoop:
    """Claims due messages into the workers' queue while this process may send."""

    def __init__(
        self,
        store: Store,
        keeper: LeaseKeeper,
        sink: ClaimSink,
        *,
        poll_interval: float,
        timer: Timer,
        clock: Callable[[], datetime],
        emit: Callable[[ev.Event], None],
    ) -> None:
        self.store = store
        self.keeper = keeper
        self.sink = sink
        self.poll_interval = poll_interval
        self._timer = timer
        self._clock = clock
        self._emit = emit
        self._wake = asyncio.Event()
        self._stopping = False
        self._housekeeping_due = True
        self._data_version: int | None = None
        self._version_checked_at = -float("inf")
        self._housekept_at = -float("inf")
        self._next_due: datetime | None = None

    def wake(self, housekeeping: bool = True) -> None:
        """Look at the store again now (call on the loop's thread)."""
        if housekeeping:
            self._housekeeping_due = True
        self._wake.set()

    def stop(self) -> None:
        """End the loop after the pass under way (its claims still reach the workers)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                timeout = await self.step()
            except Exception as err:  # keep sending through a transient store error
                log.exception("dispatch step failed")
                self._emit(ev.SenderError("dispatch", repr(err)))
                timeout = 1.0
            if self._stopping:
                break
            await self._timer.wait(self._wake, max(MIN_NAP, timeout))
            self._wake.clear()

    async def step(self) -> float:
        """One pass; returns how long to sleep unless woken."""
        poll = self.poll_interval
        if not self.sink.accepting:
            return poll
        if not self.keeper.may_send():
            # A late renewal: look again soon, sending resumes when it lands.
            return min(poll, self.keeper.settings.interval)
        free = self.sink.free()
        mono = self._timer.monotonic()
        # Other processes' writes show in data_version; a look twice per poll
        # interval is enough to notice them within a second.
        check = mono - self._version_checked_at >= poll / 2
        now = self._clock()
        # A start or an end coming due needs materialising or finalising, and
        # so does anything the store told us about. While saturated no next due
        # instant is computed, so a start must also be caught by a periodic look.
        due = self._next_due is not None and now >= self._next_due
        stale = mono - self._housekept_at >= poll
        housekeeping = self._housekeeping_due or due or stale
        self._housekeeping_due = False
        if housekeeping:
            self._housekept_at = mono
        settings = self.keeper.settings
        if self.keeper.shared is not None:
            # A shared store: every worker claims (SKIP LOCKED keeps them disjoint);
            # the store-wide work is the leader's alone.
            leader = self.keeper.is_holder
            step: DispatchStep | None = await self.store.run(
                self.store.dispatch_step,
                now,
                free,
                check_version=check,
                last_version=self._data_version,
                housekeeping=housekeeping and leader,
            )
            if not leader:
                self._housekeeping_due = False
        else:
            step = await self.store.run(
                guarded_step,
                self.store,
                settings.owner,
                settings.deadline,
                now,
                free,
                check_version=check,
                last_version=self._data_version,
                housekeeping=housekeeping,
            )
        if step is None:
            # The store says the lease is not (freshly) ours: the keeper will know soon.
            self._housekeeping_due = housekeeping
            return min(poll, settings.interval)
        self._next_due = step.next_due
        if step.version is not None:
            self._version_checked_at = self._timer.monotonic()
            self._data_version = step.version
        self._report_housekeeping(step)
        for claim in step.claims:
            log.debug(
                "claimed mailing=%d message=%d client=%s",
                claim.mailing_id,
                claim.id,
                claim.client_id,
            )
            self.sink.put(claim)
        if free <= 0:
            probe = self.sink.next_probe_at()
            if probe is not None:
                return max(MIN_NAP, min(poll, probe - self._timer.monotonic()))
            return poll
        if step.next_due is None:
            # Saturated (or nothing scheduled): a freed slot or a change wakes us.
            return poll
        return min(poll, (step.next_due - self._clock()).total_seconds())

    def _report_housekeeping(self, step: DispatchStep) -> None:
        for mailing_id, created in step.started:
            log.info("audience materialised mailing=%d messages=%d", mailing_id, created)
            self._emit(ev.MailingStarted(mailing_id, created))
        for status, ids in step.finalized.items():
            if ids:
                log.info("%d pending message(s) %s: %s", len(ids), status, _id_list(ids))
                self._emit(ev.MessagesFinalized(status, len(ids)))


def _id_list(ids: list[int], limit: int = 20) -> str:
    shown = ",".join(str(i) for i in ids[:limit])
    return shown + (f",... ({len(ids)} in all)" if len(ids) > limit else "")
