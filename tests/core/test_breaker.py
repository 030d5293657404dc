"""The circuit breaker on fake time: when it opens, how it probes, when it closes.

The scenario tests drive the breaker with a toy gateway (up, down, or failing
a share of requests, by the fake clock) the way the sender does: a request
starts only with a permit, and its answer comes back with that permit.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import Any

import pytest

from notifier_tui.core.events import BreakerState
from notifier_tui.core.sending.breaker import (
    BreakerConfig,
    BreakerTransition,
    CircuitBreaker,
    Permit,
)

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class Mono:
    """A fake monotonic clock."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make(**overrides: Any) -> tuple[CircuitBreaker, Mono, list[BreakerTransition]]:
    clock = Mono()
    changes: list[BreakerTransition] = []
    config = BreakerConfig(**overrides)
    return CircuitBreaker(config, clock=clock, on_change=changes.append), clock, changes


def answer(breaker: CircuitBreaker, ok: bool) -> bool:
    """One request through the breaker: True if it changed state."""
    permit = breaker.allow()
    assert permit is not None
    return breaker.success(permit) if ok else breaker.failure(permit)


def open_it(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.config.window_calls):
        if answer(breaker, ok=False):
            return
    raise AssertionError("did not open")


# --- config ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"min_calls": 0},
        {"min_calls": 200, "window_calls": 100},
        {"failure_rate": 0.0},
        {"failure_rate": 1.5},
        {"close_share": 0},
        {"probe_interval": 3.0, "max_probe_interval": 2.0},
        {"probe_interval": 0},
        {"probe_backoff": 0.5},
        {"half_open_calls": 0},
        {"window_seconds": 0},
        {"consecutive_failures": -1},
    ],
)
def test_config_rejects_nonsense(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        BreakerConfig(**fields)


@pytest.mark.parametrize(
    ("calls", "share", "need"), [(5, 0.6, 3), (4, 0.5, 2), (3, 0.5, 2), (1, 0.6, 1), (5, 1.0, 5)]
)
def test_probes_to_close(calls: int, share: float, need: int) -> None:
    assert BreakerConfig(half_open_calls=calls, close_share=share).probes_to_close == need


def test_legacy_knobs_map_to_a_config_that_still_probes_often() -> None:
    cfg = BreakerConfig.from_legacy(10, 5.0, 120.0)
    assert cfg.min_calls == 10
    assert cfg.probe_interval == 1.0 and cfg.probe_backoff == 1.0
    short = BreakerConfig.from_legacy(5, 0.3, 1.0)
    assert (short.probe_interval, short.max_probe_interval) == (0.3, 1.0)
    legacy = CircuitBreaker(5, 0.3, 1.0, clock=Mono())
    assert legacy.config == short


# --- opening -------------------------------------------------------------------------


def opened_at(breaker: CircuitBreaker, outcomes: str) -> list[int]:
    """Feed answers ("S"/"F") while closed; the indexes of those that opened it."""
    return [
        i for i, c in enumerate(outcomes) if breaker.state is CLOSED and answer(breaker, c == "S")
    ]


@pytest.mark.parametrize(
    ("outcomes", "opens_at"),
    [
        # (sequence of answers, index of the answer that opens; None = stays closed)
        ("F" * 29, None),  # below min_calls nothing opens, however bad
        ("F" * 30, 29),
        ("S" * 12 + "F" * 18, 29),  # 18 of 30 = 60%
        ("S" * 13 + "F" * 17, None),  # 17 of 30 < 60%
        ("S" * 100 + "F" * 60, 159),  # a full window of successes is pushed out
        ("SSF" * 100, None),  # a third failing never opens
        ("FFS" * 20, 30),  # two thirds failing: judged at the first failure past min_calls
        (("F" * 20 + "S" * 30) * 4, None),  # 40% of any 100
    ],
)
def test_opens_on_the_failure_rate_of_the_window(outcomes: str, opens_at: int | None) -> None:
    breaker, _, changes = make(consecutive_failures=0)
    opened = opened_at(breaker, outcomes)
    if opens_at is None:
        assert opened == [] and breaker.state is CLOSED
    else:
        assert opened == [opens_at]
        assert breaker.state is OPEN
        assert changes[-1].new is OPEN and "answers failed" in changes[-1].reason


@pytest.mark.parametrize(
    ("outcomes", "opens_at"),
    [
        ("F" * 25, 24),  # a dead gateway trips before min_calls
        ("S" * 100 + "F" * 24, None),
        ("S" * 100 + "F" * 25, 124),  # not the 60 failures the window would need
        ("S" * 100 + ("F" * 24 + "S" * 40) * 2, None),  # 24 in a row, twice
    ],
)
def test_failures_in_a_row_open_it_at_once(outcomes: str, opens_at: int | None) -> None:
    breaker, _, changes = make()
    assert opened_at(breaker, outcomes) == ([] if opens_at is None else [opens_at])
    if opens_at is not None:
        assert changes[-1].reason == "25 failures in a row"


def test_old_answers_leave_the_window() -> None:
    breaker, clock, _ = make(window_seconds=10.0, consecutive_failures=0)
    for _ in range(29):
        answer(breaker, ok=False)
    clock.t += 11
    # The 29 failures are too old to count: one more is not 30 of 30.
    assert not answer(breaker, ok=False)
    assert breaker.window_counts() == (1, 1)


def test_thirty_one_percent_failures_never_open() -> None:
    """The gateway of the bug report: up, accepting 69%; 20,000 answers at 1 ms each."""
    breaker, clock, _ = make()
    rng = random.Random(3)
    for _ in range(20_000):
        clock.t += 0.001
        assert not answer(breaker, rng.random() >= 0.31)
    assert breaker.state is CLOSED


# --- open and half-open ---------------------------------------------------------------


def test_open_lets_nothing_through_until_the_probe_is_due() -> None:
    breaker, clock, _ = make()
    open_it(breaker)
    opened = clock.t
    assert breaker.probe_due_at == opened + 1.0
    assert breaker.capacity() == 0 and breaker.allow() is None
    clock.t = opened + 0.999
    assert breaker.capacity() == 0
    clock.t = opened + 1.0
    # Queries do not move the state, however often they are asked.
    assert [breaker.capacity() for _ in range(3)] == [1, 1, 1]
    assert breaker.state is OPEN and breaker.probe_due_at == opened + 1.0


def test_half_open_trial_scout_alone_then_the_rest_and_close_on_share() -> None:
    breaker, clock, changes = make(half_open_calls=5, close_share=0.6)
    open_it(breaker)
    clock.t += 1.0
    scout = breaker.allow()
    assert scout is not None and scout.probe
    assert breaker.state is HALF_OPEN and changes[-1].new is HALF_OPEN
    assert breaker.probe_due_at is None
    assert breaker.capacity() == 0  # the scout goes alone
    assert breaker.allow() is None
    assert not breaker.success(scout)
    assert breaker.capacity() == 4
    probes = [breaker.allow() for _ in range(4)]
    assert all(p is not None and p.probe for p in probes)
    assert breaker.allow() is None and breaker.capacity() == 0
    assert not breaker.failure(probes[0])  # 1 ok, 1 failed: 3 of 5 still reachable
    assert breaker.success(probes[1]) is False
    assert breaker.success(probes[2]) is True  # 3 accepted: closed
    assert breaker.state is CLOSED and breaker.capacity() is None
    assert changes[-1].reason == "3 of 4 probes accepted"
    # The last probe's answer comes after the close: it changes nothing.
    assert not breaker.failure(probes[3])
    assert breaker.window_counts() == (0, 0)


def test_half_open_reopens_when_the_share_is_out_of_reach() -> None:
    breaker, clock, _ = make(half_open_calls=5, close_share=0.6)
    open_it(breaker)
    clock.t += 1.0
    scout = breaker.allow()
    assert scout is not None
    breaker.success(scout)
    probes = [breaker.allow() for _ in range(4)]
    assert not breaker.failure(probes[0])
    assert not breaker.failure(probes[1])
    assert breaker.failure(probes[2])  # 3 failed of 5: at most 2 accepted
    assert breaker.state is OPEN
    assert breaker.probe_due_at == clock.t + 1.0
    assert not breaker.success(probes[3])  # a stale probe does not close it


@pytest.mark.parametrize(
    ("backoff", "cap", "intervals"),
    [
        (2.0, 2.0, [1.0, 2.0, 2.0, 2.0, 2.0]),
        (1.5, 3.0, [1.0, 1.5, 2.25, 3.0, 3.0]),
        (1.0, 2.0, [1.0, 1.0, 1.0, 1.0, 1.0]),
    ],
)
def test_failed_scouts_grow_the_interval_up_to_its_cap(
    backoff: float, cap: float, intervals: list[float]
) -> None:
    breaker, clock, _ = make(probe_backoff=backoff, max_probe_interval=cap)
    open_it(breaker)
    seen = []
    for _ in intervals:
        due = breaker.probe_due_at
        assert due is not None
        seen.append(round(due - clock.t, 6))
        clock.t = due
        scout = breaker.allow()
        assert scout is not None
        assert breaker.failure(scout)  # a failed scout reopens at once
    assert seen == intervals


def test_answers_of_requests_started_before_opening_are_ignored() -> None:
    breaker, clock, changes = make()
    in_flight = [breaker.allow() for _ in range(32)]
    open_it(breaker)
    n = len(changes)
    due = breaker.probe_due_at
    for permit in in_flight:
        assert not breaker.failure(permit)
    assert breaker.probe_due_at == due  # no new opening, no push of the probe
    clock.t = due or 0.0
    scout = breaker.allow()
    assert scout is not None
    for permit in in_flight:  # nor do they count as the scout's answer
        assert not breaker.success(permit)
    assert breaker.capacity() == 0 and len(changes) == n + 1


def test_released_probe_frees_its_slot_and_a_lost_one_frees_it_after_the_timeout() -> None:
    breaker, clock, _ = make(probe_timeout=5.0)
    open_it(breaker)
    clock.t += 1.0
    scout = breaker.allow()
    assert breaker.capacity() == 0
    breaker.release(scout)  # e.g. handed back on stop, or answered 429 Retry-After
    assert breaker.state is HALF_OPEN and breaker.capacity() == 1
    lost = breaker.allow()
    assert lost is not None and breaker.capacity() == 0
    clock.t += 5.0
    assert breaker.capacity() == 1  # never answered: another scout may go
    again = breaker.allow()
    assert again is not None and again.id != lost.id
    assert breaker.success(lost) is False  # a late answer still counts as accepted
    # Of the trial's four: one accepted, one in flight, two may go.
    assert breaker.capacity() == 2


def test_reset_closes_and_forgets() -> None:
    breaker, clock, changes = make()
    open_it(breaker)
    breaker.reset("resumed by user")
    assert breaker.state is CLOSED and breaker.capacity() is None
    assert breaker.window_counts() == (0, 0)
    assert changes[-1] == BreakerTransition(OPEN, CLOSED, clock.t, "resumed by user", None)


def test_older_call_form_without_permits() -> None:
    """The sender before its rewiring: allow() as a bool, success()/failure() bare."""
    clock = Mono()
    breaker = CircuitBreaker(5, 0.3, 1.0, clock=clock)
    assert breaker.allow()
    opened = [breaker.failure() for _ in range(5)]
    assert opened == [False] * 4 + [True]
    assert not breaker.failure()  # open: further failures are ignored
    assert breaker.current_cooldown == 0.3
    clock.t += 0.3
    assert breaker.allow()
    assert not breaker.allow()
    assert not breaker.success()  # the scout: one of the two needed
    assert breaker.capacity() == 3
    assert breaker.allow()
    assert breaker.success()
    assert breaker.state is CLOSED


# --- scenarios: a toy gateway on fake time ------------------------------------------------


def simulate(
    gateway_ok: Callable[[float, random.Random], bool],
    until: float,
    *,
    concurrency: int = 32,
    latency: float = 0.02,
    seed: int = 0,
) -> list[tuple[float, bool]]:
    """Drive the breaker like the sender does, with a fake clock; return the requests.

    ``concurrency`` workers send back to back, each request answered ``latency``
    later; a worker refused by the breaker waits for the probe time while open
    (as the sender's dispatch loop does), else 10 ms.
    """
    clock = Mono(0.0)
    breaker = CircuitBreaker(BreakerConfig(), clock=clock)
    rng = random.Random(seed)
    requests: list[tuple[float, bool]] = []
    # One entry per worker: (when, worker, the request it waits on or None when free).
    events: list[tuple[float, int, tuple[Permit, bool] | None]] = [
        (0.0, i, None) for i in range(concurrency)
    ]
    while events[0][0] < until:
        clock.t, worker, flight = heapq.heappop(events)
        if flight is not None:
            permit, ok = flight
            _ = breaker.success(permit) if ok else breaker.failure(permit)
            heapq.heappush(events, (clock.t, worker, None))
            continue
        permit_or_none = breaker.allow()
        if permit_or_none is None:
            due = breaker.probe_due_at
            wake = due if due is not None and due > clock.t else clock.t + 0.01
            heapq.heappush(events, (wake, worker, None))
            continue
        ok = gateway_ok(clock.t, rng)
        requests.append((clock.t, ok))
        heapq.heappush(events, (clock.t + latency, worker, (permit_or_none, ok)))
    return requests


@pytest.mark.parametrize("outage", [1.0, 5.0, 10.0, 60.0, 300.0])
def test_after_an_outage_of_any_length_sending_resumes_within_3_s(outage: float) -> None:
    down_from, up_from = 5.0, 5.0 + outage
    requests = simulate(
        lambda t, rng: not (down_from <= t < up_from), until=up_from + 10, latency=0.01
    )
    dead = [t for t, _ in requests if down_from <= t < up_from]
    first_ok = min(t for t, ok in requests if ok and t >= up_from)
    assert first_ok - up_from <= 2.0 + 0.05  # the probe interval's cap, plus the loop's step
    # While down: the opening (a window's worth at most) then about one probe a 1-2 s.
    opening = [t for t in dead if t < down_from + 0.5]
    assert len(opening) <= 100
    assert len(dead) - len(opening) <= outage / 1.0 + 1
    # Back at full speed soon after: 32 workers at 10 ms = 3,200 requests a second.
    rate = sum(1 for t, _ in requests if up_from + 3 <= t < up_from + 4)
    assert rate >= 0.9 * 3200


def test_recovery_to_a_flaky_gateway_resumes_within_3_s_in_95_percent_of_runs() -> None:
    """After recovery the gateway still fails 31%: one failed probe no longer decides.

    Targets: first acceptance within 3 s of the recovery in 95% of runs (a scout
    a second, each failing with p = 0.31: three fail in a row 3% of the time);
    half speed (a second of traffic at half the workers' speed) within 3-7 s.
    """
    first, half = [], []
    down_from, up_from = 1.0, 4.0
    for seed in range(100):

        def flaky(t: float, rng: random.Random) -> bool:
            return not (down_from <= t < up_from) and rng.random() >= 0.31

        # 16 workers at 50 ms: 320 requests a second at full speed.
        requests = simulate(flaky, until=up_from + 9, concurrency=16, latency=0.05, seed=seed)
        first.append(min(t for t, ok in requests if ok and t >= up_from) - up_from)
        after = [t for t, _ in requests if t >= up_from]
        resumed = next(t for k, t in enumerate(after[:-160]) if after[k + 160] - t <= 1.0)
        half.append(resumed - up_from)
    first.sort()
    half.sort()
    assert first[94] <= 3.0, first
    assert half[94] <= 3.5, half
    assert half[-1] <= 7.0, half


def test_dead_gateway_costs_about_one_request_a_second() -> None:
    requests = simulate(lambda t, rng: t < 1.0, until=61.0)
    dead = [t for t, _ in requests if t >= 1.5]
    assert 28 <= len(dead) <= 61  # one scout per 1-2 s for a minute
