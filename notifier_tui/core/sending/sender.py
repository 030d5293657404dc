"""The dispatcher: turns due messages into gateway requests and records the outcomes.

One ``asyncio.TaskGroup`` on the caller's event loop owns every task::

    Sender.run
    ├── lease keeper (lease_keeper.py): take, renew, or watch the lease; one heartbeat at a time
    ├── dispatch loop (dispatch_loop.py): materialise, finalise, claim due messages
    ├── workers (workers.py), while holding the lease: gates, request, judge (policy.py)
    ├── write-behind (write_behind.py): buffered outcomes, one transaction per flush
    ├── live snapshot once a second
    ├── fleet link (fleet.py): its registry row and the store-wide credentials stop
    └── periodic jobs (scheduling.py): the daily report and the like

Every store call goes through :meth:`Store.run` (the store's own thread). A
message is ``sending`` only between its claim and its recorded outcome; on a
stop or a lost lease what was not answered goes back to ``pending`` without an
attempt charged, and after a crash :meth:`Store.recover_sending` does it at the
next start (docs/domain.md rule 7).

A stop is bounded by ``SenderConfig.stop_timeout`` whatever the store or the
gateway does: claiming stops, requests in flight get ``stop_grace``, then the
outcomes are written and the lease released as far as the time left allows.
What could not be written is logged and stays ``sending`` for the next start.

Alone on a store (SQLite; a UI) only the lease holder sends. A daemon on a
PostgreSQL store (``shared_claims``) sends beside the others: it claims its
own messages, renews and expires claims (claims.py), and the lease is only
the leader's role, the store-wide work of materialising, finalising and the
daily report. Either way the fleet link (fleet.py) publishes this process's
figures to the store and obeys the store-wide credentials stop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from notifier_tui.core import events as ev
from notifier_tui.core.events import BreakerState, GatewayHealth
from notifier_tui.core.scheduling import PeriodicJobs
from notifier_tui.core.sending.breaker import BreakerTransition, CircuitBreaker
from notifier_tui.core.sending.claims import SharedClaims, claim_ttl_for, supports_shared_claims
from notifier_tui.core.sending.credentials import CredentialsStop
from notifier_tui.core.sending.dispatch_loop import DispatchLoop
from notifier_tui.core.sending.fleet import FleetLink
from notifier_tui.core.sending.gateway import GatewayClient
from notifier_tui.core.sending.lease_keeper import LeaseKeeper
from notifier_tui.core.sending.livestats import LiveWindow
from notifier_tui.core.sending.policy import RetrySettings
from notifier_tui.core.sending.pressure import BackPressure
from notifier_tui.core.sending.ratelimit import TokenBucket
from notifier_tui.core.sending.sender_config import SenderConfig
from notifier_tui.core.sending.sender_shutdown import shut_down
from notifier_tui.core.sending.sender_snapshot import build_snapshot, gateway_health
from notifier_tui.core.sending.timer import SYSTEM_TIMER, Timer
from notifier_tui.core.sending.workers import Workers
from notifier_tui.core.sending.write_behind import WriteBehind
from notifier_tui.core.store import Store
from notifier_tui.core.store.control import CredentialsFlag

__all__ = ["EventCallback", "Sender", "SenderConfig"]

log = logging.getLogger("notifier_tui.sender")

EventCallback = Callable[[ev.Event], None]

SNAPSHOT_INTERVAL = 1.0


class Sender:
    """Sends every due message of one store, if this process holds the sender lease."""

    def __init__(
        self,
        store: Store,
        config: SenderConfig,
        *,
        gateway: GatewayClient | None = None,
        clock: Callable[[], datetime] | None = None,
        timer: Timer | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Args:
        store: The store to send from.
        config: The knobs.
        gateway: A client to use instead of one made from ``config`` (not closed here).
        clock: Wall time for what is written; default ``store.clock``.
        timer: Monotonic time and sleeps; default the real ones.
        rng: The backoff's jitter source.
        """
        self.store = store
        self.config = config
        self._gateway = gateway
        self._clock = clock or store.clock
        self._timer = timer or SYSTEM_TIMER
        self._hub = ev.EventHub()
        emit = self._hub.emit
        self.breaker = CircuitBreaker(
            config.breaker_config, clock=self._timer.monotonic, on_change=self._breaker_changed
        )
        self.bucket = TokenBucket(
            config.rate_limit, clock=self._timer.monotonic, sleep=self._timer.sleep
        )
        self.pressure = BackPressure(
            config.concurrency, clock=self._timer.monotonic, sleep=self._timer.sleep
        )
        self.live = LiveWindow()
        self.credentials = CredentialsStop(config.credentials_probe_interval, self._timer)
        self.keeper = LeaseKeeper(
            store,
            config.lease_settings,
            timer=self._timer,
            clock=self._clock,
            emit=emit,
            on_gained=self._lease_gained,
            on_lost=self._lease_lost,
        )
        self.owner = self.keeper.settings.owner
        self.shared: SharedClaims | None = None
        if config.shared_claims and supports_shared_claims(store):
            self.shared = SharedClaims(
                store,
                self.owner,
                claim_ttl_for(config.lease_ttl, config.timeout),
                timer=self._timer,
                clock=self._clock,
            )
            self.keeper.shared = self.shared
        self.outcomes = WriteBehind(
            store,
            interval=config.flush_interval,
            timer=self._timer,
            emit=emit,
            on_pending_written=lambda: self.dispatch.wake(),
        )
        self.workers = Workers(
            concurrency=config.concurrency,
            retry=RetrySettings(config.retry_base, config.retry_cap),
            keeper=self.keeper,
            credentials=self.credentials,
            breaker=self.breaker,
            bucket=self.bucket,
            pressure=self.pressure,
            live=self.live,
            outcomes=self.outcomes,
            timer=self._timer,
            clock=self._clock,
            rng=rng or random.Random(),
            emit=emit,
            on_slot_free=lambda: self.dispatch.wake(housekeeping=False),
            on_credentials_lifted=self.resume_dispatch,
        )
        self.dispatch = DispatchLoop(
            store,
            self.keeper,
            self.workers,
            poll_interval=config.poll_interval,
            timer=self._timer,
            clock=self._clock,
            emit=emit,
        )
        self.fleet = FleetLink(
            store,
            owner=self.owner,
            role=config.role,
            lease_ttl=config.lease_ttl,
            timer=self._timer,
            clock=self._clock,
            snapshot=self.snapshot,
            is_leader=lambda: self.is_holder,
            is_sending=lambda: self.sends,
            rate_limit=config.rate_limit,
            set_rate=self.bucket.set_rate,
            local_stop=lambda: self.credentials.error,
            engage=self._credentials_refused_elsewhere,
            lift=self.resume_dispatch,
        )
        self._hub.add(self._tell_fleet)
        self.jobs = PeriodicJobs()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._group: asyncio.TaskGroup | None = None
        self._stop_requested = asyncio.Event()
        self._done = asyncio.Event()
        self._running = False

    # --- state other code reads --------------------------------------------------

    @property
    def is_holder(self) -> bool:
        return self.keeper.is_holder

    @property
    def sends(self) -> bool:
        """Whether this process sends: the lease holder, or any worker on a shared store."""
        return self.is_holder or self.shared is not None

    @property
    def holder(self) -> str | None:
        """Who sends when this process does not (a description), else None."""
        return self.keeper.holder

    @property
    def credentials_error(self) -> str | None:
        return self.credentials.error

    @property
    def in_flight(self) -> int:
        return self.workers.in_flight

    @property
    def sent_total(self) -> int:
        return self.workers.sent_total

    @property
    def failed_total(self) -> int:
        return self.workers.failed_total

    @property
    def retries_total(self) -> int:
        return self.workers.retries_total

    # --- public controls ---------------------------------------------------------

    def add_listener(self, callback: EventCallback) -> None:
        """Receive every event from now on (the one way to follow the sender)."""
        self._hub.add(callback)

    def remove_listener(self, callback: EventCallback) -> None:
        self._hub.remove(callback)

    def wake(self) -> None:
        """Look at the store again now; safe to call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self.dispatch.wake)

    def set_token(self, token: str) -> None:
        """Use a new token; a credentials stop ends because the token changed."""
        self.config = dataclasses.replace(self.config, token=token)
        if self._gateway is not None:
            self._gateway.set_token(token)
        if self.credentials_error is not None:
            self.resume_dispatch("token changed")

    def resume_dispatch(self, reason: str = "resumed by user") -> None:
        """Lift a credentials stop (and close the breaker) on the user's word."""
        if not self.credentials.active and self.breaker.state is BreakerState.CLOSED:
            return
        self.credentials.lift()
        self.fleet.request_clear(reason)
        log.info("dispatch resumed: %s", reason)
        self._hub.emit(ev.DispatchResumed(reason))
        if self.breaker.state is BreakerState.CLOSED:
            self._hub.emit(ev.BreakerChanged(BreakerState.CLOSED, None, reason))
        else:
            self.breaker.reset(reason)  # tells _breaker_changed
        self.dispatch.wake()

    def _credentials_refused_elsewhere(self, flag: CredentialsFlag) -> None:
        """Another sender of this store saw the token refused: stop here too."""
        if self.credentials.refuse(flag.reason):
            self._hub.emit(ev.CredentialsRejected(None, f"{flag.reason} (seen by {flag.by})"))

    def _tell_fleet(self, event: ev.Event) -> None:
        if isinstance(event, ev.CredentialsRejected):
            self.fleet.nudge()

    def take_over(self) -> None:
        """Ask to take the lease as soon as it is free (the UI's 'take over sending')."""
        self.keeper.request_takeover()

    async def stop(self) -> None:
        """Stop claiming, let requests in flight finish, hand back the rest (bounded)."""
        self._stop_requested.set()
        if self._running:
            await self._done.wait()

    def snapshot(self) -> ev.SenderSnapshot:
        """What the sender shows now (see :func:`build_snapshot`)."""
        return build_snapshot(self)

    def health(self) -> GatewayHealth:
        """The gateway's health as the sender sees it (see :func:`gateway_health`)."""
        return gateway_health(self)

    # --- the task tree -------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`stop`: hold the lease and send, or stand by."""
        if self._running:
            raise RuntimeError("this sender is already running")
        self._running = True
        self._done.clear()
        self._loop = asyncio.get_running_loop()
        self.store.add_listener(self.wake)
        owns_gateway = self._gateway is None
        gateway = self._gateway or GatewayClient(
            self.config.base_url,
            self.config.token,
            timeout=self.config.timeout,
            max_connections=self.config.concurrency,
        )
        self._gateway = self.workers.gateway = gateway
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                background = [
                    group.create_task(self.keeper.run(), name="notifier-lease"),
                    group.create_task(self.outcomes.run(), name="notifier-write-behind"),
                    group.create_task(self._snapshots(), name="notifier-snapshot"),
                    group.create_task(self.jobs.run(), name="notifier-jobs"),
                    group.create_task(self.fleet.run(), name="notifier-fleet"),
                ]
                if self.shared is not None:
                    background.append(group.create_task(self.shared.run(), name="notifier-claims"))
                    log.info(
                        "shared store: this worker claims its own messages (claim TTL %.0fs);"
                        " the lease holder leads",
                        self.shared.ttl,
                    )
                    self.workers.start(group)
                dispatch = group.create_task(self.dispatch.run(), name="notifier-dispatch")
                try:
                    await self._stop_requested.wait()
                finally:
                    await self._shutdown(dispatch, background)
        finally:
            self._group = None
            self.store.remove_listener(self.wake)
            if owns_gateway:
                self._gateway = self.workers.gateway = None
                await gateway.aclose()
            self._running = False
            self._done.set()

    async def _snapshots(self) -> None:
        while True:
            await self._timer.sleep(SNAPSHOT_INTERVAL)
            try:
                self._hub.emit(self.snapshot())
            except Exception:  # a figure that cannot be computed must not end the loop
                log.exception("live snapshot failed")

    async def _lease_gained(self) -> None:
        if self.shared is not None:
            # The leader role only: the workers already send, and what a dead one
            # left 'sending' comes back by claim expiry, never by a sweep that
            # would take live workers' claims (recover_sending).
            log.info("this worker is the leader now (store-wide work)")
            self._hub.emit(ev.LeaseChanged(True, None))
            self.dispatch.wake()
            return
        recovered = await self.store.run(self.store.recover_sending)
        log.info("%d interrupted message(s) back to pending", recovered)
        self._hub.emit(ev.LeaseChanged(True, None))
        if self._group is not None and not self._stop_requested.is_set():
            self.workers.start(self._group)
        self.dispatch.wake()

    async def _lease_lost(self) -> None:
        if self.shared is not None:
            log.warning("leader role lost to another worker; this one keeps sending")
            return
        # Requests in flight may have reached the gateway: let them end and be
        # written (the new holder waits its take-over grace for that), rather
        # than cancel them and have their messages sent a second time.
        await self.workers.stop(grace=2 * self.config.timeout)
        try:
            await self.outcomes.flush()
        except Exception:  # the write-behind loop keeps trying
            log.exception("recording outcomes after losing the lease failed")

    def _breaker_changed(self, change: BreakerTransition) -> None:
        probe_at = None
        if change.probe_due_at is not None:
            ahead = max(0.0, change.probe_due_at - self._timer.monotonic())
            probe_at = self._clock() + timedelta(seconds=ahead)
        if change.new is BreakerState.OPEN:
            log.warning(
                "breaker open (%s); next probe in %.1fs",
                change.reason,
                self.breaker.current_cooldown,
            )
        else:
            log.info("breaker %s: %s", change.new, change.reason)
        self._hub.emit(ev.BreakerChanged(change.new, probe_at, change.reason))
        if change.new is not BreakerState.OPEN:
            self.dispatch.wake(housekeeping=False)

    async def _shutdown(
        self, dispatch: asyncio.Task[None], background: list[asyncio.Task[None]]
    ) -> None:
        """Stop in order, within ``stop_timeout`` in all (see :func:`shut_down`)."""
        await shut_down(self, dispatch, background)
