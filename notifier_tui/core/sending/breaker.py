"""Circuit breaker: how the sender treats a failing gateway (backoff is in :mod:`.backoff`).

The breaker judges the gateway, not one request (docs/domain.md rule 5): it
opens on the failure rate of its recent answers, and closes on the share of a
few probes that were accepted. States::

    CLOSED --(failure rate >= failure_rate over >= min_calls recent answers,
              or consecutive_failures transient failures in a row)--> OPEN
    OPEN --(allow() once the probe is due)--> HALF_OPEN: one probe alone (the scout)
    HALF_OPEN --scout failed----------------> OPEN (next probe in probe_interval,
                                               grown by probe_backoff, capped)
    HALF_OPEN --scout accepted--------------> the rest of the trial goes together
    HALF_OPEN --close_share of half_open_calls accepted--> CLOSED
    HALF_OPEN --that share no longer reachable---------> OPEN

While OPEN no request is started but the probe, and no attempt is charged to
any message. A probe is one real message. The scout alone keeps a dead gateway
at about one request per 1-2 s; the trial after it keeps one lucky answer from
a gateway that still fails most requests from closing the breaker.

API (everything runs on one event loop; nothing here blocks or sleeps)::

    permit = breaker.allow()        # Permit, or None: do not send now
    ...send...
    breaker.success(permit)         # the gateway answered (accepted, 4xx, 401)
    breaker.failure(permit)         # a transient failure (5xx, timeout, bad answer)
    breaker.release(permit)         # no verdict: cancelled, stopped, or back-pressure

    breaker.capacity()              # None = unbounded, else how many may start now
    breaker.state                   # BreakerState
    breaker.probe_due_at            # monotonic time of the next probe while OPEN
    breaker.current_cooldown        # seconds between probes right now
    breaker.reset()                 # close at once (the user's "resume")

Queries (``capacity``, ``state``, ``probe_due_at``, ``window_counts``) never
change anything. Transitions happen only in ``allow``, ``success``, ``failure``
and ``reset``; each one calls ``on_change`` with a :class:`BreakerTransition`.
``success`` returns True when it closed the breaker, ``failure`` True when it
opened it (from CLOSED or again from HALF_OPEN).

A permit carries the breaker generation it was granted in, so the answer of a
request that started before the breaker opened (all of a dead gateway's
in-flight requests) neither counts as a probe nor reopens anything. Calls
without a permit (the older ``success()``/``failure()`` form) are judged
against the current state.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from notifier_tui.core.events import BreakerState
from notifier_tui.core.sending.breaker_config import BreakerConfig

__all__ = [
    "BreakerConfig",
    "BreakerTransition",
    "CircuitBreaker",
    "Permit",
]


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to send one request; hand it back to ``success``/``failure``/``release``.

    Attributes:
        id: Unique per breaker.
        generation: The breaker's generation (bumped at every transition) when granted.
        probe: Whether this request is a half-open probe.
        granted_at: Monotonic time it was granted.
    """

    id: int
    generation: int
    probe: bool
    granted_at: float


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    """One change of state, as given to ``on_change``.

    Attributes:
        old: State before.
        new: State after.
        at: Monotonic time of the change.
        reason: Short human text, e.g. ``"65% of 100 answers failed"``.
        probe_due_at: Monotonic time of the next probe when ``new`` is OPEN.
    """

    old: BreakerState
    new: BreakerState
    at: float
    reason: str
    probe_due_at: float | None


class _Window:
    """The latest answers (time, failed), at most ``calls`` of them, with running counts."""

    def __init__(self, calls: int, seconds: float) -> None:
        self._items: deque[tuple[float, bool]] = deque()
        self._calls = calls
        self._seconds = seconds
        self.failures = 0

    def add(self, now: float, failed: bool) -> None:
        self._items.append((now, failed))
        self.failures += failed
        self.prune(now)

    def prune(self, now: float) -> None:
        items, horizon = self._items, now - self._seconds
        while items and (len(items) > self._calls or items[0][0] < horizon):
            self.failures -= items.popleft()[1]

    def __len__(self) -> int:
        return len(self._items)

    def counts(self, now: float) -> tuple[int, int]:
        """(answers, failures) in the window at ``now``, without pruning."""
        horizon = now - self._seconds
        live = [failed for t, failed in list(self._items)[-self._calls :] if t >= horizon]
        return len(live), sum(live)

    def clear(self) -> None:
        self._items.clear()
        self.failures = 0


class CircuitBreaker:
    """Failure-rate breaker with a half-open trial of a few probes; see the module docstring."""

    def __init__(
        self,
        config: BreakerConfig | int | None = None,
        cooldown: float | None = None,
        max_cooldown: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerTransition], None] | None = None,
    ) -> None:
        """Make a closed breaker.

        Args:
            config: The thresholds; an int is the older positional form
                ``CircuitBreaker(threshold, cooldown, max_cooldown)`` (see
                :meth:`BreakerConfig.from_legacy`).
            cooldown: Older form only: seconds before the first probe.
            max_cooldown: Older form only: cap on the probe interval.
            clock: Monotonic seconds; tests pass a fake one.
            on_change: Called after every state change (a broken callback is not
                caught here; the sender wraps its own).
        """
        if isinstance(config, int):
            defaults = BreakerConfig()
            config = BreakerConfig.from_legacy(
                config,
                defaults.probe_interval if cooldown is None else cooldown,
                defaults.max_probe_interval if max_cooldown is None else max_cooldown,
            )
        self.config = config if config is not None else BreakerConfig()
        self.clock = clock
        self.on_change = on_change
        self._state = BreakerState.CLOSED
        self._window = _Window(self.config.window_calls, self.config.window_seconds)
        self._generation = 0
        self._next_id = 0
        self._interval = self.config.probe_interval
        self._probe_due = 0.0
        self._probes: dict[int, float] = {}  # probe permit id -> granted at
        self._trial_ok = 0
        self._trial_failed = 0
        self._in_a_row = 0

    # --- queries (never change anything) ---------------------------------------

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def probe_due_at(self) -> float | None:
        """Monotonic time when the next probe may go, while open."""
        return self._probe_due if self._state is BreakerState.OPEN else None

    @property
    def current_cooldown(self) -> float:
        """Seconds between probes right now (grows after failed trials, capped)."""
        return self._interval

    def capacity(self) -> int | None:
        """How many requests may start now: None = unbounded, else 0 or a few probes."""
        if self._state is BreakerState.CLOSED:
            return None
        now = self.clock()
        if self._state is BreakerState.OPEN:
            return 1 if now >= self._probe_due else 0
        # HALF_OPEN: the scout goes alone; once it is accepted the rest may go together.
        limit = 1 if self._trial_ok == 0 else self.config.half_open_calls
        return max(0, limit - self._trial_ok - self._trial_failed - self._live_probes(now))

    def window_counts(self) -> tuple[int, int]:
        """(answers, transient failures) the breaker judges right now, while closed."""
        return self._window.counts(self.clock())

    def _live_probes(self, now: float) -> int:
        horizon = now - self.config.probe_timeout
        return sum(1 for granted in self._probes.values() if granted > horizon)

    # --- transitions -------------------------------------------------------------

    def allow(self) -> Permit | None:
        """Leave to start one request now, or None; may start a half-open trial."""
        now = self.clock()
        if self._state is BreakerState.CLOSED:
            return self._permit(now, probe=False)
        room = self.capacity()
        if not room:
            return None
        if self._state is BreakerState.OPEN:
            self._begin_trial(now)
        else:
            horizon = now - self.config.probe_timeout
            self._probes = {k: t for k, t in self._probes.items() if t > horizon}
        permit = self._permit(now, probe=True)
        self._probes[permit.id] = now
        return permit

    def success(self, permit: Permit | None = None) -> bool:
        """Record an answer that shows the gateway up; True when this closed the breaker."""
        now = self.clock()
        if self._state is BreakerState.CLOSED:
            if self._counts(permit):
                self._window.add(now, failed=False)
                self._in_a_row = 0
            return False
        if not self._take_probe(permit):
            return False
        self._trial_ok += 1
        if self._trial_ok >= self.config.probes_to_close:
            self._close(
                now, f"{self._trial_ok} of {self._trial_ok + self._trial_failed} probes accepted"
            )
            return True
        return False

    def failure(self, permit: Permit | None = None) -> bool:
        """Record a transient failure; True when this opened (or reopened) the breaker."""
        now = self.clock()
        if self._state is BreakerState.CLOSED:
            if not self._counts(permit):
                return False
            self._window.add(now, failed=True)
            self._in_a_row += 1
            cfg = self.config
            calls, failures = len(self._window), self._window.failures
            if calls >= cfg.min_calls and failures >= cfg.failure_rate * calls:
                reason = f"{failures} of the last {calls} answers failed"
            elif cfg.consecutive_failures and self._in_a_row >= cfg.consecutive_failures:
                reason = f"{self._in_a_row} failures in a row"
            else:
                return False
            self._interval = cfg.probe_interval
            self._open(now, reason)
            return True
        if not self._take_probe(permit):
            return False
        self._trial_failed += 1
        cfg = self.config
        if self._trial_ok == 0 or self._trial_failed > cfg.half_open_calls - cfg.probes_to_close:
            self._interval = min(self._interval * cfg.probe_backoff, cfg.max_probe_interval)
            self._open(now, "probe failed" if self._trial_ok == 0 else "probes failed")
            return True
        return False

    def release(self, permit: Permit | None) -> None:
        """Give back a permit that got no verdict (cancelled, handed back, back-pressure)."""
        if permit is not None and permit.probe and permit.generation == self._generation:
            self._probes.pop(permit.id, None)

    def reset(self, reason: str = "reset") -> None:
        """Close at once and forget the window (the user resumed dispatch)."""
        self._interval = self.config.probe_interval
        if self._state is BreakerState.CLOSED:
            self._window.clear()
            self._in_a_row = 0
            return
        self._close(self.clock(), reason)

    # --- internals ----------------------------------------------------------------

    def _permit(self, now: float, *, probe: bool) -> Permit:
        self._next_id += 1
        return Permit(self._next_id, self._generation, probe, now)

    def _counts(self, permit: Permit | None) -> bool:
        """Whether a closed-state answer belongs to the current window."""
        return permit is None or permit.generation == self._generation

    def _take_probe(self, permit: Permit | None) -> bool:
        """Consume the probe slot of a half-open answer; False if it is not a current probe."""
        if self._state is not BreakerState.HALF_OPEN:
            return False
        if permit is None:  # older call form: the oldest probe in flight answered
            if not self._probes:
                return False
            permit_id = min(self._probes, key=self._probes.__getitem__)
        elif permit.probe and permit.generation == self._generation:
            permit_id = permit.id
        else:
            return False
        # A probe given up as lost still tells the truth when its answer comes.
        self._probes.pop(permit_id, None)
        return True

    def _begin_trial(self, now: float) -> None:
        self._trial_ok = self._trial_failed = 0
        self._probes.clear()
        self._move(BreakerState.HALF_OPEN, now, "probe due")

    def _open(self, now: float, reason: str) -> None:
        self._probe_due = now + self._interval
        self._probes.clear()
        self._window.clear()
        self._in_a_row = 0
        self._move(BreakerState.OPEN, now, reason)

    def _close(self, now: float, reason: str) -> None:
        self._interval = self.config.probe_interval
        self._probes.clear()
        self._window.clear()
        self._in_a_row = 0
        self._move(BreakerState.CLOSED, now, reason)

    def _move(self, new: BreakerState, now: float, reason: str) -> None:
        old, self._state = self._state, new
        self._generation += 1
        if self.on_change is not None:
            due = self._probe_due if new is BreakerState.OPEN else None
            self.on_change(BreakerTransition(old, new, now, reason, due))
