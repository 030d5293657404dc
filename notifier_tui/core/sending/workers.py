"""The workers: take a claim, pass the gates, send it, judge the answer, buffer the outcome.

Gates before a request, in order: the stop and the lease (fresh, see
:mod:`.lease_keeper`), the credentials stop (a probe every so often, see
:mod:`.credentials`), the gateway's back-pressure (a ``Retry-After`` pauses
every worker, see :mod:`.pressure`), the rate limit, the mailing's end (no
request starts at or after it), the circuit breaker, and the lease once more
after the waits. A claim that does not pass goes back to ``pending`` uncharged.

An answer that carried a 429/503 ``Retry-After`` is back-pressure, not a sign
the gateway is down: its breaker permit is handed back instead of counted as
a failure.

The pool runs in the sender's task group while this process holds the lease;
:meth:`Workers.stop` lets requests in flight finish within a grace (waiting on
an event, not polling), then cancels what is left: a cancelled request's
message goes back to ``pending`` uncharged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime

from notifier_tui.core import events as ev
from notifier_tui.core.records import Claim, Outcome
from notifier_tui.core.sending.breaker import CircuitBreaker, Permit
from notifier_tui.core.sending.credentials import CredentialsStop
from notifier_tui.core.sending.gateway import GatewayClient, OutcomeClass
from notifier_tui.core.sending.lease_keeper import LeaseKeeper
from notifier_tui.core.sending.livestats import LiveWindow
from notifier_tui.core.sending.policy import RetrySettings, Step, Verdict, judge, released, too_late
from notifier_tui.core.sending.pressure import THROTTLE_STATUSES, BackPressure
from notifier_tui.core.sending.ratelimit import TokenBucket
from notifier_tui.core.sending.timer import Timer
from notifier_tui.core.sending.write_behind import WriteBehind

_TRIED_AGAIN = frozenset({Step.RETRY, Step.CREDENTIALS})
"""Verdicts after which the message is sent again later (the rest are final)."""

log = logging.getLogger("notifier_tui.sender")


class Workers:
    """A pool of ``concurrency`` workers fed through one queue."""

    def __init__(
        self,
        *,
        concurrency: int,
        retry: RetrySettings,
        keeper: LeaseKeeper,
        credentials: CredentialsStop,
        breaker: CircuitBreaker,
        bucket: TokenBucket,
        pressure: BackPressure,
        live: LiveWindow,
        outcomes: WriteBehind,
        timer: Timer,
        clock: Callable[[], datetime],
        rng: random.Random,
        emit: Callable[[ev.Event], None],
        on_slot_free: Callable[[], None],
        on_credentials_lifted: Callable[[str], None],
    ) -> None:
        self.concurrency = concurrency
        self.retry = retry
        self.keeper = keeper
        self.credentials = credentials
        self.breaker = breaker
        self.bucket = bucket
        self.pressure = pressure
        self.live = live
        self.outcomes = outcomes
        self.gateway: GatewayClient | None = None
        self._timer = timer
        self._clock = clock
        self._rng = rng
        self._emit = emit
        self._on_slot_free = on_slot_free
        self._on_credentials_lifted = on_credentials_lifted
        self._queue: asyncio.Queue[Claim] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.sent_total = 0
        self.failed_total = 0
        self.retries_total = 0
        # Claiming in small dribbles costs a store round trip each; wait for some room.
        self._claim_threshold = max(1, concurrency // 16)

    # --- what the dispatch loop asks ---------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether the pool runs and takes claims."""
        return bool(self._tasks) and not self._draining

    def free(self) -> int:
        """Claims the queue may take now: free slots, bounded by the breaker and credentials."""
        queued = self._queue.qsize()
        free = self.concurrency - self.in_flight - queued
        # While the gateway asked us to wait nothing is claimed: a claim would
        # only sit in ``sending`` for the whole pause.
        free = min(free, self.pressure.limit() - self.pressure.in_flight - queued)
        for cap in (self.breaker.capacity(), self.credentials.capacity()):
            if cap is not None:
                free = min(free, cap - queued)
        return max(0, free)

    def next_probe_at(self) -> float | None:
        """Monotonic time a probe may go or a pause ends, if one is awaited."""
        dues = [
            d
            for d in (
                self.breaker.probe_due_at,
                self.credentials.probe_due_at,
                self.pressure.paused_until,
            )
            if d is not None
        ]
        return min(dues) if dues else None

    def put(self, claim: Claim) -> None:
        self._queue.put_nowait(claim)

    # --- life cycle ----------------------------------------------------------------

    def start(self, tasks: asyncio.TaskGroup) -> None:
        """Start the pool in the sender's task group (a no-op if it runs)."""
        if self._tasks:
            return
        self._draining = False
        self._tasks = [
            tasks.create_task(self._work(), name=f"notifier-worker-{i}")
            for i in range(self.concurrency)
        ]

    async def stop(self, grace: float) -> None:
        """Hand back the queue, give requests in flight ``grace`` seconds, cancel the rest."""
        self._draining = True
        self._hand_back_queue()
        if self._tasks and grace > 0 and self.in_flight:
            await self._timer.wait(self._idle, grace)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._tasks = []
        self._hand_back_queue()  # claims a pass under way put in meanwhile

    def _hand_back_queue(self) -> None:
        while not self._queue.empty():
            claim = self._queue.get_nowait()
            self.outcomes.add(released(self._clock()).outcome(claim.id))

    # --- one worker ------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            claim = await self._queue.get()
            self.in_flight += 1
            self._idle.clear()
            try:
                outcome = await self._process(claim)
            except asyncio.CancelledError:
                self.outcomes.add(released(self._clock()).outcome(claim.id))
                raise
            except Exception as err:
                log.exception("message=%d: unexpected error", claim.id)
                self._emit(ev.SenderError(f"message {claim.id}", repr(err)))
                outcome = released(self._clock()).outcome(claim.id)
            finally:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self._idle.set()
            self.outcomes.add(outcome)
            if self.concurrency - self.in_flight - self._queue.qsize() >= self._claim_threshold:
                self._on_slot_free()

    def _may_go(self) -> bool:
        return not self._draining and self.keeper.may_send()

    async def _process(self, claim: Claim) -> Outcome:
        if not self._may_go():
            return released(self._clock()).outcome(claim.id)
        probe = False
        if self.credentials.active:
            if not self.credentials.take_probe():
                return released(self._clock()).outcome(claim.id)
            probe = True
        try:
            return await self._attempt(claim, probe)
        finally:
            if probe and self.credentials.active:
                self.credentials.probe_done()

    async def _attempt(self, claim: Claim, credentials_probe: bool) -> Outcome:
        await self.pressure.acquire()
        try:
            return await self._paced(claim, credentials_probe)
        finally:
            self.pressure.release()

    async def _paced(self, claim: Claim, credentials_probe: bool) -> Outcome:
        await self.bucket.acquire()
        if self._clock() >= claim.end_at:
            # docs/domain.md rule 3: no request starts at or after the end.
            log.info("expired mailing=%d message=%d: end reached", claim.mailing_id, claim.id)
            return too_late().outcome(claim.id)
        if not self._may_go():
            return released(self._clock()).outcome(claim.id)
        permit = self.breaker.allow()
        if permit is None:
            return released(self._clock()).outcome(claim.id)
        gateway = self.gateway
        assert gateway is not None, "the sender sets the gateway before starting workers"
        log.debug(
            "request mailing=%d message=%d client=%s attempt=%d%s",
            claim.mailing_id,
            claim.id,
            claim.client_id,
            claim.attempts + 1,
            " (credentials probe)" if credentials_probe else "",
        )
        generation = self.credentials.generation
        try:
            result = await gateway.send(claim.id, claim.phone, claim.text)
        except BaseException:
            self.breaker.release(permit)
            raise
        verdict = judge(
            result,
            attempts=claim.attempts,
            now=self._clock(),
            end=claim.end_at,
            retry=self.retry,
            jitter=self._rng.random(),
        )
        # Latency only of answered requests: a refused connection's 2 ms says
        # nothing about the gateway (issue 12.12). The verdict tells a message
        # tried again later from one failed for good (the outcome chart).
        self.live.record(
            self._timer.monotonic(),
            result.outcome is OutcomeClass.ACCEPTED,
            result.latency if result.status_code is not None else None,
            result.error_kind,
            retried=verdict.step in _TRIED_AGAIN,
            reason=result.reason,
        )
        throttled = self.pressure.observe(result.status_code, result.retry_after)
        if throttled:
            log.warning(
                "gateway asked to wait %.1fs (HTTP %s Retry-After): every worker pauses",
                result.retry_after or 0.0,
                result.status_code,
            )
        backpressure = result.retry_after is not None and result.status_code in THROTTLE_STATUSES
        if backpressure:
            self.breaker.release(permit)
        self._apply(
            claim,
            verdict,
            None if backpressure else permit,
            result.latency,
            result.status_code,
            credentials_probe,
            generation,
        )
        return verdict.outcome(claim.id)

    def _apply(
        self,
        claim: Claim,
        verdict: Verdict,
        permit: Permit | None,
        latency: float,
        status_code: int | None,
        credentials_probe: bool,
        generation: int,
    ) -> None:
        """The verdict's side effects: breaker, credentials, counters, events and logs.

        ``permit`` is None when the answer says nothing of the gateway's health
        (back-pressure): the breaker is not told.
        """
        if permit is not None:
            if verdict.gateway_up:
                self.breaker.success(permit)
            else:
                self.breaker.failure(permit)
        # Only a probe's answer speaks for the token now: a request that left
        # before the refusal says nothing about it. An accepted or a permanently
        # refused message got past the gateway's token check.
        passed = credentials_probe and verdict.step in (Step.SENT, Step.FAILED)
        if passed and self.credentials.active:
            self._on_credentials_lifted("the gateway accepts the token again")
        ids = f"mailing={claim.mailing_id} message={claim.id} client={claim.client_id}"
        reason = verdict.reason or ""
        match verdict.step:
            case Step.SENT:
                self.sent_total += 1
                log.debug("answer %s accepted latency=%.3f", ids, latency)
                self._emit(ev.MessageSent(claim.id, claim.mailing_id, latency))
            case Step.CREDENTIALS:
                if self.credentials.refuse(reason, generation):
                    log.error("gateway rejected the token (%s): all dispatch stopped", reason)
                    self._emit(ev.CredentialsRejected(status_code, reason))
                else:
                    log.debug("answer %s: token still refused (%s)", ids, reason)
            case Step.FAILED:
                self.failed_total += 1
                log.info("answer %s failed permanently: %s", ids, reason)
                self._emit(ev.MessageFailed(claim.id, claim.mailing_id, reason))
            case Step.EXPIRED:
                log.info("answer %s transient (%s); no retry before end: expired", ids, reason)
            case Step.RETRY:
                self.retries_total += 1
                attempt, delay = claim.attempts + 1, verdict.delay or 0.0
                log.info(
                    "retry scheduled %s attempt=%d delay=%.2fs: %s", ids, attempt, delay, reason
                )
                self._emit(ev.RetryScheduled(claim.id, claim.mailing_id, attempt, delay, reason))
            case Step.RELEASED:
                pass
