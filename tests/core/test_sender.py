"""The sender against the real gateway simulator on 127.0.0.1 and a real store.

The store is a SQLite file; the tests of the sender's invariants (issue 11: one
id per client, nothing sent after the end, the credentials stop, the send
window, pause and cancel) are marked ``@both_backends`` and run once more on a
fresh PostgreSQL database (ids ``sqlite`` and ``postgresql``). On both the
sender is the one lease holder, as a UI's is; the daemon's shared claims on
PostgreSQL (``shared_claims``) are tests/test_daemon.py's and tests/pg/'s.

The sender runs on fake time (``tests/fakeclock.py``): its wall clock (the
store's) and its monotonic clock only move when a test moves them, so a
start, an end, a retry's backoff or a breaker's probe comes exactly when the
test says, and nothing waits for real seconds. Requests still travel over
real sockets, so waits for what the gateway did are bounded real-time polls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from notifier_tui.core import events as ev
from notifier_tui.core.sending.gateway import GatewayClient, GatewayResult
from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.core.conftest import FakeClock, both_backends
from tests.fakeclock import tick
from tests.simfixtures import SimulatorFactory, make_simulator  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sim(make_simulator: SimulatorFactory) -> GatewaySimulator:  # noqa: F811
    return await make_simulator(SimulatorConfig(seed=7))


def add_clients(
    store: Store, n: int, tag: str = "", tz: str = "Europe/Moscow", base: int = 0
) -> None:
    rows = [(i + 2, {"phone": f"7900{base + i:07d}", "tag": tag, "timezone": tz}) for i in range(n)]
    store.import_rows(rows)


def config(sim: GatewaySimulator, **overrides: Any) -> SenderConfig:
    base: dict[str, Any] = {
        "base_url": sim.base_url,
        "token": "test-token",
        "concurrency": 8,
        "timeout": 2.0,
        "retry_base": 0.05,
        "retry_cap": 0.2,
        "breaker_threshold": 5,
        "breaker_cooldown": 0.3,
        "breaker_max_cooldown": 1.0,
        "lease_ttl": 2.0,
        "poll_interval": 0.2,
    }
    base.update(overrides)
    return SenderConfig(**base)


def counts(store: Store) -> dict[str, int]:
    cursor = store.db.execute_sql("SELECT status, COUNT(*) FROM message GROUP BY status")
    return dict(cursor.fetchall())


def rows(store: Store) -> list[tuple[Any, ...]]:
    return store.db.execute_sql(
        "SELECT id, client_id, status, attempts, last_error, sent_at, next_attempt_at"
        " FROM message ORDER BY id"
    ).fetchall()


async def until(predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.02) -> None:
    """Wait (bounded, real time) until ``predicate`` holds: for what the gateway does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


async def ticking(clock: FakeClock, predicate: Callable[[], bool], seconds: float = 30.0) -> None:
    """Move fake time forward (at most ``seconds``) until ``predicate`` holds."""
    if not await tick(clock, seconds, until=predicate):
        raise AssertionError(f"condition not met within {seconds} fake seconds")


class Running:
    """A sender running on fake time in the test's loop, with its events collected."""

    def __init__(
        self,
        store: Store,
        cfg: SenderConfig,
        clock: FakeClock,
        gateway: GatewayClient | None = None,
    ):
        self.events: list[ev.Event] = []
        self.clock = clock
        self.sender = Sender(store, cfg, gateway=gateway, timer=clock)
        self.sender.add_listener(self.events.append)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.sender.run())
        await until(lambda: self.sender.is_holder, timeout=5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        stopping = asyncio.create_task(self.sender.stop())
        # The stop's grace runs on fake time: move it along while the stop works.
        await tick(self.clock, 60, step=0.1, until=stopping.done)
        await asyncio.wait_for(stopping, 10)
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def idle(self) -> bool:
        """No request in flight and nothing waiting to be written."""
        return self.sender.in_flight == 0 and len(self.sender.outcomes) == 0


def all_final(store: Store) -> bool:
    c = counts(store)
    return bool(c) and c.get("pending", 0) == 0 and c.get("sending", 0) == 0


@both_backends
async def test_happy_path_each_client_gets_one_message(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    add_clients(store, 60)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hello")
    async with Running(store, config(sim), clock) as run:
        await ticking(clock, lambda: counts(store).get("sent") == 60)
        assert run.sender.is_holder
    assert sim.accepted_total == 60
    assert sim.duplicates == {}
    ids = [r[0] for r in rows(store)]
    assert sorted(sim.accepted) == ids
    assert all(r[3] == 1 for r in rows(store))


async def test_transient_failures_are_retried_until_sent(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.fail_rate = 0.3
    sim.config.throttle_rate = 0.1
    sim.config.retry_after_s = 0.1
    add_clients(store, 80)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim, breaker_threshold=50), clock) as run:
        await ticking(clock, lambda: counts(store).get("sent") == 80)
        assert run.of(ev.RetryScheduled)
    assert sim.duplicates == {}
    assert max(r[3] for r in rows(store)) > 1  # some needed more than one attempt
    # Every retry waited its backoff (at most retry_cap), or the gateway's Retry-After.
    assert all(0 <= e.delay <= 0.2 for e in run.of(ev.RetryScheduled))


async def test_garbage_answers_are_never_recorded_as_sent(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.garbage_rate = 0.3
    sim.config.nonzero_code_rate = 0.2
    add_clients(store, 50)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim, breaker_threshold=50), clock):
        await ticking(clock, lambda: counts(store).get("sent") == 50)
    sent_ids = {r[0] for r in rows(store) if r[2] == "sent"}
    assert sent_ids == set(sim.accepted)
    assert any(r[4] and "bad answer" in r[4] for r in rows(store))


async def test_permanent_failures_fail_the_message(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.permanent_rate = 1.0
    add_clients(store, 10)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim), clock) as run:
        await ticking(clock, lambda: counts(store).get("failed") == 10)
        assert len(run.of(ev.MessageFailed)) == 10
    assert all(r[3] == 1 and r[4].startswith("HTTP 400") for r in rows(store))


async def test_outage_opens_breaker_then_everything_is_sent(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.latency_ms = 20
    add_clients(store, 120)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim), clock) as run:
        await until(lambda: run.sender.sent_total >= 20)
        await sim.outage(None)
        opened = lambda: any(e.state == "open" for e in run.of(ev.BreakerChanged))  # noqa: E731
        await ticking(clock, opened)
        # Five fake seconds of a dead gateway: probes only, every second or so.
        requests_at_open = sim.requests
        await tick(clock, 5)
        assert counts(store).get("sent", 0) < 120
        await sim.end_outage()
        await ticking(clock, lambda: counts(store).get("sent") == 120)
        states = [e.state for e in run.of(ev.BreakerChanged)]
        assert "open" in states and states[-1] == "closed"
    assert sim.requests >= requests_at_open
    # The breaker spared the messages: a handful of attempts each at most.
    assert max(r[3] for r in rows(store)) <= 6
    assert sim.duplicates == {}


@both_backends
async def test_credentials_error_stops_everything_until_token_fixed(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.token = "right"
    add_clients(store, 30)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    cfg = config(sim, token="wrong", credentials_probe_interval=10)
    async with Running(store, cfg, clock) as run:
        await until(lambda: bool(run.of(ev.CredentialsRejected)))
        await ticking(clock, run.idle)
        assert counts(store).get("sent", 0) == 0
        assert all(r[2] == "pending" and r[3] == 0 for r in rows(store))
        requests_while_stopped = sim.requests
        await tick(clock, 5)  # half the probe interval: nothing more is tried
        assert sim.requests == requests_while_stopped
        run.sender.set_token("right")
        await ticking(clock, lambda: counts(store).get("sent") == 30)
        assert run.of(ev.DispatchResumed)


@both_backends
async def test_credentials_probe_notices_a_token_fixed_at_the_gateway(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.token = "right"
    add_clients(store, 20)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    cfg = config(sim, token="ours", credentials_probe_interval=10)
    async with Running(store, cfg, clock) as run:
        await until(lambda: bool(run.of(ev.CredentialsRejected)))
        await ticking(clock, run.idle)
        refused = sim.requests
        await tick(clock, 9.5, step=0.25)
        assert sim.requests == refused
        # The probe interval passed: one message tries the token, and is refused again.
        await ticking(clock, lambda: sim.requests == refused + 1, seconds=1)
        await ticking(clock, run.idle)
        await tick(clock, 5, step=0.25)
        assert sim.requests == refused + 1
        assert run.sender.credentials_error is not None
        assert len(run.of(ev.CredentialsRejected)) == 1  # one alert, not one per probe
        sim.config.token = "ours"  # the gateway's owner fixed it on their side
        await ticking(clock, lambda: counts(store).get("sent") == 20, seconds=15)
        assert run.sender.credentials_error is None
        assert [e.reason for e in run.of(ev.DispatchResumed)] == [
            "the gateway accepts the token again"
        ]
    assert all(r[3] == 1 for r in rows(store))  # refused tries cost no attempt


async def test_a_retry_after_pauses_the_whole_sender_and_spares_the_breaker(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.throttle_rate = 1.0
    sim.config.retry_after_s = 2.0
    add_clients(store, 40)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim, concurrency=8), clock) as run:
        await until(lambda: len(run.of(ev.RetryScheduled)) >= 8)
        await until(lambda: run.sender.in_flight == 0)
        throttled = sim.requests
        sim.config.throttle_rate = 0.0
        await tick(clock, 1.9)
        assert sim.requests == throttled  # no worker starts anything during the pause
        await ticking(clock, lambda: counts(store).get("sent") == 40, seconds=10)
        # Eight 429s in a row: back-pressure, not a dead gateway.
        assert not any(e.state == "open" for e in run.of(ev.BreakerChanged))
    assert sim.duplicates == {}


class RecordingGateway(GatewayClient):
    """The real client, noting (on the fake clock) when each request starts."""

    starts: list[datetime]
    clock: FakeClock

    async def send(self, msg_id: int, phone: str | int, text: str) -> GatewayResult:
        self.starts.append(self.clock())
        return await super().send(msg_id, phone, text)


@both_backends
async def test_no_request_after_end_and_the_rest_expires(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.latency_ms = 300
    add_clients(store, 40)
    end = clock() + timedelta(seconds=1.2)
    store.create_mailing(clock() - timedelta(seconds=1), end, "hi")
    gateway = RecordingGateway(sim.base_url, "t", timeout=2, max_connections=2)
    gateway.starts, gateway.clock = [], clock
    async with Running(store, config(sim, concurrency=2), clock, gateway=gateway) as run:
        await until(lambda: run.sender.sent_total >= 2)
        clock.set(end)  # two requests are in flight as the end comes
        await until(lambda: run.sender.in_flight == 0)  # answered, still at the end
        await ticking(clock, lambda: all_final(store), seconds=5)
    await gateway.aclose()
    c = counts(store)
    assert c.get("sent", 0) >= 2
    assert c.get("expired", 0) >= 20
    assert gateway.starts and max(gateway.starts) < end
    assert all(r[5] is None or r[5] <= end.timestamp() + 0.5 for r in rows(store))


async def test_future_mailing_starts_by_itself_not_early(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    add_clients(store, 10)
    start = clock() + timedelta(seconds=1.5)
    store.create_mailing(start, start + timedelta(minutes=5), "later")
    async with Running(store, config(sim), clock) as run:
        await tick(clock, 1.45)
        assert counts(store) == {}
        assert sim.requests == 0
        await ticking(clock, lambda: counts(store).get("sent") == 10, seconds=1)
        started = run.of(ev.MailingStarted)
        assert started and started[0].messages_created == 10
    first = min(r[5] for r in rows(store))
    assert first >= start.timestamp()
    assert first < start.timestamp() + 0.3  # at once, not a poll interval later


@both_backends
async def test_send_window_closed_in_one_timezone_open_in_another(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    utc_now = clock()
    opens = (utc_now - timedelta(hours=1)).strftime("%H:%M")
    closes = (utc_now + timedelta(hours=1)).strftime("%H:%M")
    add_clients(store, 5, tz="UTC")
    add_clients(store, 5, tz="Asia/Tokyo", base=100)  # nine hours ahead: outside
    store.create_mailing(
        utc_now - timedelta(seconds=1),
        utc_now + timedelta(days=2),
        "hi",
        window=f"{opens}-{closes}",
    )
    async with Running(store, config(sim), clock) as run:
        await ticking(clock, lambda: counts(store).get("sent") == 5)
        await tick(clock, 2)  # passes enough to have claimed Tokyo, had it been open
        await ticking(clock, run.idle)
    by_tz = store.db.execute_sql(
        "SELECT c.timezone, m.status, m.next_attempt_at FROM message m JOIN client c"
        " ON c.id = m.client_id"
    ).fetchall()
    tokyo = [r for r in by_tz if r[0] == "Asia/Tokyo"]
    assert all(status == "pending" for _, status, _ in tokyo)
    assert all(nxt > utc_now.timestamp() + 3600 for _, _, nxt in tokyo)
    assert sim.accepted_total == 5


@both_backends
async def test_pause_stops_sending_resume_continues_cancel_finalises(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.latency_ms = 50
    add_clients(store, 200)
    m = store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim, concurrency=2), clock) as run:
        await until(lambda: run.sender.sent_total >= 5)
        store.pause_mailing(m.id)
        await ticking(clock, run.idle)  # requests already in flight may land
        paused_at = counts(store).get("sent", 0)
        requests = sim.requests
        await tick(clock, 2)
        assert counts(store).get("sent", 0) == paused_at
        assert sim.requests == requests
        store.resume_mailing(m.id)
        await ticking(clock, lambda: counts(store).get("sent", 0) >= paused_at + 5)
        store.cancel_mailing(m.id)
        await ticking(clock, lambda: all_final(store), seconds=5)
    c = counts(store)
    assert c.get("cancelled", 0) > 100
    assert c.get("sent", 0) + c["cancelled"] == 200


@both_backends
async def test_client_added_during_active_mailing_gets_message(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    add_clients(store, 5, tag="vip")
    store.create_mailing(
        clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi", tags=["vip"]
    )
    async with Running(store, config(sim), clock):
        await ticking(clock, lambda: counts(store).get("sent") == 5)
        late = store.create_client("79991234567", "vip")
        store.create_client("79991234568", "other")
        await ticking(clock, lambda: counts(store).get("sent") == 6, seconds=1)
    assert late.id in {r[1] for r in rows(store)}
    assert sim.accepted_total == 6


async def test_stop_hands_unanswered_messages_back(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.latency_ms = 3000
    add_clients(store, 10)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")
    run = Running(store, config(sim, concurrency=4, timeout=10, stop_grace=0.5), clock)
    async with run:
        await until(lambda: run.sender.in_flight == 4)
        stopping = asyncio.create_task(run.sender.stop())
        await until(lambda: not run.sender.workers.accepting)  # the grace has begun
        await tick(clock, 0.45, step=0.05)
        assert not stopping.done()  # requests in flight still have their grace
        await tick(clock, 0.1, step=0.05)
        await asyncio.wait_for(stopping, 5)  # the grace is over: no waiting for the answers
    # Requests in flight got a grace period, then went back to pending uncharged.
    c = counts(store)
    assert c.get("sending", 0) == 0
    assert c.get("pending", 0) == 10
    assert all(r[3] == 0 for r in rows(store))
    assert store.lease_holder(ttl=5) is None


async def test_future_start_is_on_time_while_another_mailing_saturates(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    sim.config.latency_ms = 10  # real: about 100 ms of the fake time ticking() runs
    add_clients(store, 400, tag="bulk")
    add_clients(store, 5, tag="late", base=1000)
    store.create_mailing(
        clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "bulk", tags=["bulk"]
    )
    start = clock() + timedelta(seconds=1.5)
    late = store.create_mailing(start, start + timedelta(minutes=5), "late", tags=["late"])
    async with Running(store, config(sim, concurrency=4), clock):
        await ticking(
            clock,
            lambda: store.get_mailing(late.id).by_status.get("sent", 0) == 5,
            seconds=3.0,
        )
        bulk_left = counts(store).get("pending", 0)
    assert bulk_left > 100  # the first mailing was still busy all along
    first = store.db.execute_sql(
        "SELECT MIN(sent_at) FROM message WHERE mailing_id = ?", (late.id,)
    ).fetchone()[0]
    assert start.timestamp() <= first < start.timestamp() + 1.5
