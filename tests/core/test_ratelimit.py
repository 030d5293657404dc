"""The token bucket: on fake time for its arithmetic, and once for real against the simulator."""

from __future__ import annotations

import asyncio
import time

import pytest

from notifier_tui.core.sending.gateway import GatewayClient, OutcomeClass
from notifier_tui.core.sending.ratelimit import TokenBucket
from notifier_tui.sim.simulator import GatewaySimulator
from tests.simfixtures import simulator  # noqa: F401

pytestmark = pytest.mark.timeout(30)


class FakeTime:
    """A monotonic clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


def bucket(rate: float, burst: float | None = None) -> tuple[TokenBucket, FakeTime]:
    fake = FakeTime()
    return TokenBucket(rate, burst, clock=fake, sleep=fake.sleep), fake


@pytest.mark.parametrize(("rate", "burst"), [(0.5, 1.0), (10, 1.0), (200, 20.0), (5000, 500.0)])
def test_default_burst_is_a_tenth_of_a_second_at_least_one(rate: float, burst: float) -> None:
    assert bucket(rate)[0].burst == burst


async def test_the_burst_is_free_then_one_token_per_interval() -> None:
    limiter, fake = bucket(10, burst=3)
    for _ in range(3):
        await limiter.acquire()
    assert fake.t == 100.0 and fake.sleeps == []
    await limiter.acquire()
    assert fake.t == pytest.approx(100.1)
    assert limiter.delay() == pytest.approx(0.1)


@pytest.mark.parametrize(("rate", "n"), [(10, 101), (200, 1001), (0.5, 4)])
async def test_n_acquisitions_take_n_minus_burst_over_rate(rate: float, n: int) -> None:
    limiter, fake = bucket(rate)
    for _ in range(n):
        await limiter.acquire()
    assert fake.t - 100.0 == pytest.approx((n - limiter.burst) / rate, rel=1e-6)


async def test_concurrent_waiters_are_served_in_arrival_order() -> None:
    limiter, fake = bucket(10, burst=1)
    served: list[tuple[int, float]] = []

    async def take(i: int) -> None:
        await limiter.acquire()
        served.append((i, round(fake.t - 100.0, 6)))

    await asyncio.gather(*(take(i) for i in range(5)))
    assert served == [(0, 0.0), (1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4)]


async def test_idle_time_refills_up_to_the_burst_only() -> None:
    limiter, fake = bucket(10, burst=2)
    await limiter.acquire()
    await limiter.acquire()
    assert limiter.delay() == pytest.approx(0.1)
    fake.t += 60
    assert limiter.delay() == 0.0
    await limiter.acquire()
    await limiter.acquire()
    assert fake.sleeps == []
    await limiter.acquire()  # a minute idle bought two tokens, not 600
    assert fake.sleeps == [pytest.approx(0.1)]


async def test_no_rate_means_no_limit() -> None:
    limiter, fake = bucket(0)
    for _ in range(10_000):
        await limiter.acquire()
    assert fake.sleeps == [] and limiter.delay() == 0.0


async def test_set_rate_applies_from_now() -> None:
    limiter, fake = bucket(10, burst=1)
    await limiter.acquire()
    limiter.set_rate(2)
    await limiter.acquire()
    assert fake.t - 100.0 == pytest.approx(0.5)
    limiter.set_rate(0)
    await asyncio.wait_for(limiter.acquire(), 1)  # unlimited again: no wait


async def test_rate_held_within_5_percent_over_5_s_against_the_simulator(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    """Real time: 16 workers as fast as the bucket lets them, 200/s for 5 s."""
    rate, span = 200.0, 5.0
    limiter = TokenBucket(rate)
    client = GatewayClient(simulator.base_url, "t", timeout=5, max_connections=16)
    deadline = time.monotonic() + span
    accepted = 0

    async def worker(first_id: int) -> None:
        nonlocal accepted
        msg_id = first_id
        while True:
            await limiter.acquire()
            if time.monotonic() >= deadline:
                return
            result = await client.send(msg_id, 79001234567, "rate")
            accepted += result.outcome is OutcomeClass.ACCEPTED
            msg_id += 16

    try:
        await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(1, 17))), span + 10)
    finally:
        await client.aclose()
    assert simulator.requests == accepted == simulator.accepted_total
    assert abs(simulator.requests - rate * span) <= 0.05 * rate * span, simulator.requests
