"""The dispatcher: turns due messages into gateway requests and records the outcomes.

One task tree on the caller's event loop::

    Sender.run
    ├── periodic jobs (schedule.Scheduler): lease heartbeat, live snapshot
    ├── dispatch loop: materialise audiences, finalise ended/cancelled mailings,
    │   claim due messages into the work queue, sleep until the next due instant
    ├── N workers: take a claim, wait for the rate limiter and the breaker, send
    └── flusher: writes buffered outcomes every 50 ms as one transaction

Every store call goes through :meth:`Store.run` (the store's own thread). A
message is ``sending`` only between its claim and its recorded outcome; on a
stop or a lost lease everything not answered goes back to ``pending`` without
an attempt charged, and on a crash :meth:`Store.recover_sending` does it at the
next start (DESIGN rule 7).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier_tui.core import events as ev
from notifier_tui.core.defaults import DEFAULT_BASE_URL
from notifier_tui.core.events import BreakerState, GatewayHealth
from notifier_tui.core.records import Claim, Outcome
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.scheduling import PeriodicJobs
from notifier_tui.core.sending.breaker import CircuitBreaker, backoff_delay
from notifier_tui.core.sending.gateway import GatewayClient, GatewayResult, OutcomeClass
from notifier_tui.core.sending.livestats import LiveWindow
from notifier_tui.core.sending.ratelimit import TokenBucket
from notifier_tui.core.store import Store, utcnow
from notifier_tui.core.store.dispatch import DispatchStep

log = logging.getLogger("notifier_tui.sender")

EventCallback = Callable[[ev.Event], None]


@dataclass(frozen=True)
class SenderConfig:
    """The sender's knobs; see :class:`notifier_tui.settings.config.Settings` for their meaning."""

    base_url: str = DEFAULT_BASE_URL
    token: str = ""
    concurrency: int = 32
    rate_limit: float = 0.0
    timeout: float = 5.0
    retry_base: float = 1.0
    retry_cap: float = 300.0
    breaker_threshold: int = 10
    breaker_cooldown: float = 5.0
    breaker_max_cooldown: float = 120.0
    lease_ttl: float = 5.0
    role: str = "ui"
    auto_takeover: bool = True
    """Take the lease when its holder dies; the UI sets False and asks the user."""
    stop_grace: float = 5.0
    """Seconds requests in flight get to finish when the sender stops."""
    flush_interval: float = 0.05
    poll_interval: float = 0.5
    """How often another process's writes to the store are looked for."""

    def __repr__(self) -> str:
        # The token stays out of every repr, so no log line or traceback can carry it.
        return (
            f"SenderConfig(base_url={self.base_url!r}, concurrency={self.concurrency},"
            f" role={self.role!r})"
        )


class Sender:
    """Sends every due message of one store, if this process holds the sender lease."""

    def __init__(
        self,
        store: Store,
        config: SenderConfig,
        *,
        on_event: EventCallback | None = None,
        gateway: GatewayClient | None = None,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self._emit_cb = on_event
        self._listeners: list[EventCallback] = []
        self._gateway = gateway
        self._clock = clock or store.clock or utcnow
        self._rng = rng or random.Random()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.breaker = CircuitBreaker(
            config.breaker_threshold,
            config.breaker_cooldown,
            config.breaker_max_cooldown,
            clock=time.monotonic,
        )
        self.bucket = TokenBucket(config.rate_limit)
        self.live = LiveWindow()
        self.holder: str | None = None
        self.is_holder = False
        self.credentials_error: str | None = None
        self.sent_total = 0
        self.failed_total = 0
        self.retries_total = 0
        self.in_flight = 0
        self._queue: asyncio.Queue[Claim] = asyncio.Queue()
        self._outcomes: list[Outcome] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._takeover_requested = False
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._housekeeping_due = True
        self._data_version: int | None = None
        self._version_checked_at = 0.0
        self._next_due: datetime | None = None
        self._housekept_at = 0.0
        self._done = asyncio.Event()
        self._flush_soon = asyncio.Event()
        self._seen_other = False
        self._announced = False
        # Claiming in small dribbles costs a store round trip each; wait for some room.
        self._claim_threshold = max(1, config.concurrency // 16)
        self.jobs = PeriodicJobs()

    # --- public controls ------------------------------------------------------

    def add_listener(self, callback: EventCallback) -> None:
        self._listeners.append(callback)

    def wake(self) -> None:
        """Look at the store again now; safe to call from any thread."""
        try:
            loop = self._loop
        except AttributeError:
            return
        loop.call_soon_threadsafe(self._wake_now)

    def _wake_now(self) -> None:
        self._housekeeping_due = True
        self._wake.set()

    def set_token(self, token: str) -> None:
        """Use a new token; a credentials stop ends because the token changed."""
        self.config = dataclasses.replace(self.config, token=token)
        if self._gateway is not None:
            self._gateway.set_token(token)
        if self.credentials_error is not None:
            self.resume_dispatch("token changed")

    def resume_dispatch(self, reason: str = "resumed by user") -> None:
        """Lift a credentials stop (and close the breaker) on the user's word."""
        if self.credentials_error is None and self.breaker.state is BreakerState.CLOSED:
            return
        self.credentials_error = None
        self.breaker.reset()
        log.info("dispatch resumed: %s", reason)
        self._emit(ev.DispatchResumed(reason))
        self._emit(ev.BreakerChanged(BreakerState.CLOSED, None, reason))
        self._wake_now()

    def take_over(self) -> None:
        """Ask to take the lease as soon as it is free (the UI's 'take over sending')."""
        self._takeover_requested = True
        self._spawn(self._lease_once(), "take over")

    async def stop(self) -> None:
        """Stop claiming, let requests in flight finish, hand back the rest."""
        self._stopping = True
        self._wake.set()
        await self._done.wait()

    def snapshot(self) -> ev.SenderSnapshot:
        now_mono = time.monotonic()
        p50, p95 = self.live.latency()
        probe = self.breaker.probe_due_at
        return ev.SenderSnapshot(
            at=self._clock(),
            sending=self.is_holder,
            holder=self.holder,
            health=self.health(),
            breaker=self.breaker.state,
            next_probe_at=self._clock() + timedelta(seconds=max(0.0, probe - now_mono))
            if probe is not None
            else None,
            in_flight=self.in_flight,
            rate=self.live.rate(now_mono),
            latency_p50=p50,
            latency_p95=p95,
            error_rate=self.live.error_rate(now_mono),
            sent_total=self.sent_total,
            failed_total=self.failed_total,
            retries_total=self.retries_total,
            credentials_error=self.credentials_error,
            rate_history=self.live.history(now_mono),
            requests_by_outcome=dict(self.live.by_outcome),
        )

    def health(self) -> GatewayHealth:
        if self.credentials_error is not None:
            return GatewayHealth.CREDENTIALS
        if not self.config.token and self.config.base_url == DEFAULT_BASE_URL:
            return GatewayHealth.NOT_CONFIGURED
        if self.breaker.state is not BreakerState.CLOSED:
            return GatewayHealth.DOWN
        if not self.live.by_outcome:
            return GatewayHealth.UNKNOWN
        return (
            GatewayHealth.DEGRADED
            if self.live.error_rate(time.monotonic()) > 0.2
            else GatewayHealth.OK
        )

    # --- the task tree ---------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`stop`: hold the lease and send, or stand by."""
        self._loop = asyncio.get_running_loop()
        listener = self.wake
        self.store.add_listener(listener)
        owns_gateway = self._gateway is None
        if self._gateway is None:
            self._gateway = GatewayClient(
                self.config.base_url,
                self.config.token,
                timeout=self.config.timeout,
                max_connections=self.config.concurrency,
            )
        self.jobs.every_seconds(1, self._heartbeat_job, "lease heartbeat")
        self.jobs.every_seconds(1, self._snapshot_job, "live snapshot")
        self._tasks = [
            asyncio.create_task(self.jobs.run(), name="notifier-jobs"),
            asyncio.create_task(self._flusher(), name="notifier-flusher"),
        ]
        try:
            await self._lease_once()
            await self._dispatch_loop()
        finally:
            await self._shutdown()
            self.store.remove_listener(listener)
            if owns_gateway:
                await self._gateway.aclose()
            self._done.set()

    def _emit(self, event: ev.Event) -> None:
        for callback in ([self._emit_cb] if self._emit_cb else []) + self._listeners:
            try:
                callback(event)
            except Exception:  # a broken listener must not stop the sending
                log.exception("event listener failed on %s", type(event).__name__)

    # --- lease -----------------------------------------------------------------

    async def _lease_once(self) -> None:
        """Renew the lease we hold, or take a free one, or note who holds it."""
        now = self._clock()
        store, ttl = self.store, self.config.lease_ttl
        if self.is_holder:
            if not await store.run(store.heartbeat, self.owner, now):
                log.warning("sender lease lost to another process; dispatch stops")
                await self._lose_lease()
            return
        holder = await store.run(store.lease_holder, ttl, now)
        # A UI that started while another process sent asks the user before
        # taking over; every other case takes a free lease at once.
        if holder is None and (
            self.config.auto_takeover or self._takeover_requested or not self._seen_other
        ):
            pid, host = os.getpid(), socket.gethostname()
            if await store.run(
                store.acquire_lease, self.owner, pid, host, self.config.role, ttl, now
            ):
                await self._become_holder()
                return
            holder = await store.run(store.lease_holder, ttl, now)
        if holder is not None:
            self._seen_other = True
        description = holder.describe() if holder else None
        if description != self.holder or not self._announced:
            self._announced = True
            self.holder = description
            log.info("sending is done by %s", description or "nobody")
            self._emit(ev.LeaseChanged(False, description))

    async def _become_holder(self) -> None:
        self.is_holder, self.holder, self._announced = True, None, True
        self._takeover_requested = False
        recovered = await self.store.run(self.store.recover_sending)
        log.info(
            "sender lease acquired owner=%s; %d interrupted message(s) back to pending",
            self.owner,
            recovered,
        )
        self._emit(ev.LeaseChanged(True, None))
        self._start_workers()
        self._wake_now()

    async def _lose_lease(self) -> None:
        self.is_holder = False
        await self._stop_workers(grace=0)
        self._emit(ev.LeaseChanged(False, None))

    def _heartbeat_job(self) -> None:
        self._spawn(self._lease_once(), "lease heartbeat")

    def _snapshot_job(self) -> None:
        self._emit(self.snapshot())

    def _spawn(self, coro: object, what: str) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        task.add_done_callback(lambda t: self._report_failure(t, what))

    def _report_failure(self, task: asyncio.Future[object], what: str) -> None:
        if task.cancelled() or task.exception() is None:
            return
        err = task.exception()
        log.error("%s failed: %r", what, err, exc_info=err)
        self._emit(ev.SenderError(what, repr(err)))

    # --- dispatch loop ---------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while not self._stopping:
            try:
                timeout = await self._dispatch_once()
            except Exception as err:  # keep sending through a transient store error
                log.exception("dispatch step failed")
                self._emit(ev.SenderError("dispatch", repr(err)))
                timeout = 1.0
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def _dispatch_once(self) -> float:
        """One pass; returns how long to sleep unless woken."""
        poll = self.config.poll_interval
        if not self.is_holder:
            return poll
        free = self.config.concurrency - self.in_flight - self._queue.qsize()
        capacity = self.breaker.capacity()
        if capacity is not None:
            free = min(free, capacity)
        if self.credentials_error is not None:
            free = 0
        # Other processes' writes show in data_version; a look twice per poll
        # interval is enough to notice them within a second.
        check = time.monotonic() - self._version_checked_at >= poll / 2
        now = self._clock()
        # A start or an end coming due needs materialising or finalising, and
        # so does anything the store told us about. While saturated no next due
        # instant is computed, so a start must also be caught by a periodic look.
        due = self._next_due is not None and now >= self._next_due
        stale = time.monotonic() - self._housekept_at >= poll
        housekeeping = self._housekeeping_due or due or stale
        self._housekeeping_due = False
        if housekeeping:
            self._housekept_at = time.monotonic()
        store = self.store
        step = await store.run(
            store.dispatch_step,
            now,
            free,
            check_version=check,
            last_version=self._data_version,
            housekeeping=housekeeping,
        )
        self._next_due = step.next_due
        if step.version is not None:
            self._version_checked_at = time.monotonic()
            self._data_version = step.version
        self._report_housekeeping(step)
        for claim in step.claims:
            log.debug(
                "claimed mailing=%d message=%d client=%s",
                claim.mailing_id,
                claim.id,
                claim.client_id,
            )
            self._queue.put_nowait(claim)
        if free <= 0:
            probe = self.breaker.probe_due_at
            if probe is not None and self.credentials_error is None:
                return max(0.01, min(poll, probe - time.monotonic()))
            return poll
        if step.next_due is None:
            # Saturated (or nothing scheduled): a freed slot or a change wakes us.
            return poll
        return max(0.0, min(poll, (step.next_due - self._clock()).total_seconds()))

    def _report_housekeeping(self, step: DispatchStep) -> None:
        for mailing_id, created in step.started:
            log.info("audience materialised mailing=%d messages=%d", mailing_id, created)
            self._emit(ev.MailingStarted(mailing_id, created))
        for status, ids in step.finalized.items():
            if ids:
                log.info("%d pending message(s) %s: %s", len(ids), status, _id_list(ids))
                self._emit(ev.MessagesFinalized(status, len(ids)))

    # --- workers ---------------------------------------------------------------

    def _start_workers(self) -> None:
        if self._workers:
            return
        self._workers = [
            asyncio.create_task(self._worker(), name=f"notifier-worker-{i}")
            for i in range(self.config.concurrency)
        ]

    async def _stop_workers(self, grace: float) -> None:
        while not self._queue.empty():
            claim = self._queue.get_nowait()
            self._outcomes.append(self._release(claim.id))
        if self._workers and grace > 0:
            deadline = time.monotonic() + grace
            while self.in_flight and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        await self._flush()

    async def _worker(self) -> None:
        while True:
            claim = await self._queue.get()
            self.in_flight += 1
            try:
                outcome = await self._process(claim)
            except asyncio.CancelledError:
                self._outcomes.append(self._release(claim.id))
                raise
            except Exception as err:
                log.exception("message=%d: unexpected error", claim.id)
                self._emit(ev.SenderError(f"message {claim.id}", repr(err)))
                outcome = self._release(claim.id)
            finally:
                self.in_flight -= 1
            self._outcomes.append(outcome)
            if len(self._outcomes) >= 500:
                self._flush_soon.set()
            free = self.config.concurrency - self.in_flight - self._queue.qsize()
            if free >= self._claim_threshold:
                self._wake.set()

    async def _process(self, claim: Claim) -> Outcome:
        if self._stopping or not self.is_holder or self.credentials_error is not None:
            return self._release(claim.id)
        await self.bucket.acquire()
        if self._clock() >= claim.end_at:
            # DESIGN rule 3: no request starts at or after the end.
            log.info("expired mailing=%d message=%d: end reached", claim.mailing_id, claim.id)
            return Outcome(
                claim.id, MessageStatus.EXPIRED, charge=False, last_error="not sent before end"
            )
        if not self.breaker.allow():
            return self._release(claim.id)
        assert self._gateway is not None
        log.debug(
            "request mailing=%d message=%d client=%s attempt=%d",
            claim.mailing_id,
            claim.id,
            claim.client_id,
            claim.attempts + 1,
        )
        result = await self._gateway.send(claim.id, claim.phone, claim.text)
        self.live.record(
            time.monotonic(),
            result.outcome is OutcomeClass.ACCEPTED,
            result.latency,
            result.error_kind,
        )
        return self._judge(claim, result)

    def _judge(self, claim: Claim, result: GatewayResult) -> Outcome:
        """Turn a gateway answer into the message's next state (GATEWAY.md's table)."""
        if result.outcome is OutcomeClass.ACCEPTED:
            self.sent_total += 1
            if self.breaker.success():
                log.info(
                    "breaker closed: probe mailing=%d message=%d accepted",
                    claim.mailing_id,
                    claim.id,
                )
                self._emit(ev.BreakerChanged(BreakerState.CLOSED, None, "probe accepted"))
            log.debug(
                "answer mailing=%d message=%d client=%s accepted latency=%.3f",
                claim.mailing_id,
                claim.id,
                claim.client_id,
                result.latency,
            )
            self._emit(ev.MessageSent(claim.id, claim.mailing_id, result.latency))
            return Outcome(claim.id, MessageStatus.SENT, sent_at=self._clock())
        ids = f"mailing={claim.mailing_id} message={claim.id} client={claim.client_id}"
        if result.outcome is OutcomeClass.CREDENTIALS:
            if self.credentials_error is None:
                self.credentials_error = result.reason
                log.error("gateway rejected the token (%s): all dispatch stopped", result.reason)
                self._emit(ev.CredentialsRejected(result.status_code, result.reason))
            self.breaker.success()  # the gateway answered; only our token is wrong
            return self._release(claim.id, result.reason)
        if result.outcome is OutcomeClass.PERMANENT:
            self.breaker.success()  # the gateway answered; it is up
            self.failed_total += 1
            log.info("answer %s failed permanently: %s", ids, result.reason)
            self._emit(ev.MessageFailed(claim.id, claim.mailing_id, result.reason))
            return Outcome(claim.id, MessageStatus.FAILED, last_error=result.reason)
        # Transient.
        if self.breaker.failure():
            log.warning(
                "breaker open for %.0fs after %s: %s",
                self.breaker.current_cooldown,
                ids,
                result.reason,
            )
            probe = self._clock() + timedelta(seconds=self.breaker.current_cooldown)
            self._emit(ev.BreakerChanged(BreakerState.OPEN, probe, result.reason))
        attempt = claim.attempts + 1
        delay = backoff_delay(
            attempt, self.config.retry_base, self.config.retry_cap, self._rng.uniform
        )
        if result.retry_after is not None:
            delay = max(delay, result.retry_after)
        when = self._clock() + timedelta(seconds=delay)
        if when >= claim.end_at:
            log.info("answer %s transient (%s); no retry before end: expired", ids, result.reason)
            return Outcome(claim.id, MessageStatus.EXPIRED, last_error=result.reason)
        self.retries_total += 1
        log.info(
            "retry scheduled %s attempt=%d delay=%.2fs: %s", ids, attempt, delay, result.reason
        )
        self._emit(ev.RetryScheduled(claim.id, claim.mailing_id, attempt, delay, result.reason))
        return Outcome(
            claim.id, MessageStatus.PENDING, last_error=result.reason, next_attempt_at=when
        )

    def _release(self, message_id: int, reason: str | None = None) -> Outcome:
        """Hand a claimed message back to ``pending`` without charging an attempt."""
        return Outcome(
            message_id,
            MessageStatus.PENDING,
            charge=False,
            last_error=reason,
            next_attempt_at=self._clock(),
        )

    # --- recording ---------------------------------------------------------------

    async def _flusher(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_soon.wait(), self.config.flush_interval)
            self._flush_soon.clear()
            try:
                await self._flush()
            except Exception as err:  # outcomes stay buffered and are written next time
                log.exception("recording outcomes failed")
                self._emit(ev.SenderError("record outcomes", repr(err)))
                await asyncio.sleep(0.5)

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        try:
            await self.store.run(self.store.record_outcomes, batch)
        except BaseException:
            self._outcomes[:0] = batch
            raise
        if any(o.status == MessageStatus.PENDING for o in batch):
            # A retry or a hand-back makes a new due instant.
            self._housekeeping_due = True
            self._wake.set()

    async def _shutdown(self) -> None:
        self._stopping = True
        await self._stop_workers(grace=min(self.config.timeout, self.config.stop_grace))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()
        if self.is_holder:
            await self.store.run(self.store.release_lease, self.owner)
            self.is_holder = False
            log.info("sender stopped; lease released")


def _id_list(ids: list[int], limit: int = 20) -> str:
    shown = ",".join(str(i) for i in ids[:limit])
    return shown + (f",... ({len(ids)} in all)" if len(ids) > limit else "")
