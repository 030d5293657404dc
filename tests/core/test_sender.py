"""The sender against the real gateway simulator on 127.0.0.1 and a real SQLite file.

Time runs for real here (short windows), because what is tested is how the
sender behaves on a live event loop: nothing is sent late, nothing is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notifier_tui.core import events as ev
from notifier_tui.core.sending.gateway import GatewayClient, GatewayResult
from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.sim.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.timeout(60)


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store.db", default_timezone="Europe/Moscow")
    yield s
    s.close()


@pytest.fixture
async def sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(seed=7))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


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


async def until(predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.05) -> None:
    """Wait (bounded) until ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


class Running:
    """A sender running in the test's loop, with its events collected."""

    def __init__(self, store: Store, cfg: SenderConfig, gateway: GatewayClient | None = None):
        self.events: list[ev.Event] = []
        self.sender = Sender(store, cfg, gateway=gateway)
        self.sender.add_listener(self.events.append)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.sender.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wait_for(self.sender.stop(), 10)
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def all_final(store: Store) -> bool:
    c = counts(store)
    return bool(c) and c.get("pending", 0) == 0 and c.get("sending", 0) == 0


async def test_happy_path_each_client_gets_one_message(store: Store, sim: GatewaySimulator) -> None:
    add_clients(store, 60)
    store.create_mailing(now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hello")
    async with Running(store, config(sim)) as run:
        await until(lambda: counts(store).get("sent") == 60)
        assert run.sender.is_holder
    assert sim.accepted_total == 60
    assert sim.duplicates == {}
    ids = [r[0] for r in rows(store)]
    assert sorted(sim.accepted) == ids
    assert all(r[3] == 1 for r in rows(store))


async def test_transient_failures_are_retried_until_sent(
    store: Store, sim: GatewaySimulator
) -> None:
    sim.config.fail_rate = 0.3
    sim.config.throttle_rate = 0.1
    sim.config.retry_after_s = 0.1
    add_clients(store, 80)
    store.create_mailing(now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim, breaker_threshold=50)) as run:
        await until(lambda: counts(store).get("sent") == 80, timeout=30)
        assert run.of(ev.RetryScheduled)
    assert sim.duplicates == {}
    assert max(r[3] for r in rows(store)) > 1  # some needed more than one attempt


async def test_garbage_answers_are_never_recorded_as_sent(
    store: Store, sim: GatewaySimulator
) -> None:
    sim.config.garbage_rate = 0.3
    sim.config.nonzero_code_rate = 0.2
    add_clients(store, 50)
    store.create_mailing(now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim, breaker_threshold=50)):
        await until(lambda: counts(store).get("sent") == 50, timeout=30)
    sent_ids = {r[0] for r in rows(store) if r[2] == "sent"}
    assert sent_ids == set(sim.accepted)
    assert any(r[4] and "bad answer" in r[4] for r in rows(store))


async def test_permanent_failures_fail_the_message(store: Store, sim: GatewaySimulator) -> None:
    sim.config.permanent_rate = 1.0
    add_clients(store, 10)
    store.create_mailing(now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim)) as run:
        await until(lambda: counts(store).get("failed") == 10)
        assert len(run.of(ev.MessageFailed)) == 10
    assert all(r[3] == 1 and r[4].startswith("HTTP 400") for r in rows(store))


async def test_outage_opens_breaker_then_everything_is_sent(
    store: Store, sim: GatewaySimulator
) -> None:
    sim.config.latency_ms = 20
    add_clients(store, 120)
    store.create_mailing(now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim)) as run:
        await until(lambda: counts(store).get("sent", 0) >= 20)
        await sim.outage(1.5)
        await until(lambda: any(e.state == "open" for e in run.of(ev.BreakerChanged)))
        await until(lambda: counts(store).get("sent") == 120, timeout=30)
        states = [e.state for e in run.of(ev.BreakerChanged)]
        assert "open" in states and states[-1] == "closed"
    # The breaker spared the messages: a handful of attempts each at most.
    assert max(r[3] for r in rows(store)) <= 6
    assert sim.duplicates == {}


async def test_credentials_error_stops_everything_until_token_fixed(
    store: Store, sim: GatewaySimulator
) -> None:
    sim.config.token = "right"
    add_clients(store, 30)
    store.create_mailing(now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim, token="wrong")) as run:
        await until(lambda: bool(run.of(ev.CredentialsRejected)))
        await asyncio.sleep(0.5)
        assert counts(store).get("sent", 0) == 0
        assert all(r[2] == "pending" and r[3] == 0 for r in rows(store))
        requests_while_stopped = sim.requests
        await asyncio.sleep(0.5)
        assert sim.requests == requests_while_stopped  # nothing more is tried
        run.sender.set_token("right")
        await until(lambda: counts(store).get("sent") == 30)
        assert run.of(ev.DispatchResumed)


class RecordingGateway(GatewayClient):
    """The real client, noting when each request starts."""

    starts: list[datetime]

    async def send(self, msg_id: int, phone: str | int, text: str) -> GatewayResult:
        self.starts.append(now())
        return await super().send(msg_id, phone, text)


async def test_no_request_after_end_and_the_rest_expires(
    store: Store, sim: GatewaySimulator
) -> None:
    sim.config.latency_ms = 300
    add_clients(store, 40)
    end = now() + timedelta(seconds=1.2)
    store.create_mailing(now() - timedelta(seconds=1), end, "hi")
    gateway = RecordingGateway(sim.base_url, "t", timeout=2, max_connections=2)
    gateway.starts = []
    async with Running(store, config(sim, concurrency=2), gateway=gateway):
        await until(lambda: all_final(store), timeout=10)
    await gateway.aclose()
    c = counts(store)
    assert c.get("sent", 0) >= 2
    assert c.get("expired", 0) >= 20
    assert gateway.starts and max(gateway.starts) < end
    assert all(r[5] is None or r[5] <= end.timestamp() + 0.5 for r in rows(store))


async def test_future_mailing_starts_by_itself_not_early(
    store: Store, sim: GatewaySimulator
) -> None:
    add_clients(store, 10)
    start = now() + timedelta(seconds=1.5)
    store.create_mailing(start, start + timedelta(minutes=5), "later")
    async with Running(store, config(sim)) as run:
        await asyncio.sleep(1.0)
        assert counts(store) == {}
        assert sim.requests == 0
        await until(lambda: counts(store).get("sent") == 10, timeout=5)
        started = run.of(ev.MailingStarted)
        assert started and started[0].messages_created == 10
    first = min(r[5] for r in rows(store))
    assert first >= start.timestamp()
    assert first < start.timestamp() + 1.0  # within a second of the start


async def test_send_window_closed_in_one_timezone_open_in_another(
    store: Store, sim: GatewaySimulator
) -> None:
    utc_now = now()
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
    async with Running(store, config(sim)):
        await until(lambda: counts(store).get("sent") == 5)
        await asyncio.sleep(0.3)
    by_tz = store.db.execute_sql(
        "SELECT c.timezone, m.status, m.next_attempt_at FROM message m JOIN client c"
        " ON c.id = m.client_id"
    ).fetchall()
    tokyo = [r for r in by_tz if r[0] == "Asia/Tokyo"]
    assert all(status == "pending" for _, status, _ in tokyo)
    assert all(nxt > utc_now.timestamp() + 3600 for _, _, nxt in tokyo)


async def test_pause_stops_sending_resume_continues_cancel_finalises(
    store: Store, sim: GatewaySimulator
) -> None:
    sim.config.latency_ms = 50
    add_clients(store, 200)
    m = store.create_mailing(now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hi")
    async with Running(store, config(sim, concurrency=2)):
        await until(lambda: counts(store).get("sent", 0) >= 5)
        store.pause_mailing(m.id)
        await asyncio.sleep(0.3)  # requests already in flight may land
        paused_at = counts(store).get("sent", 0)
        await asyncio.sleep(0.7)
        assert counts(store).get("sent", 0) == paused_at
        store.resume_mailing(m.id)
        await until(lambda: counts(store).get("sent", 0) >= paused_at + 5)
        store.cancel_mailing(m.id)
        await until(lambda: all_final(store))
    c = counts(store)
    assert c.get("cancelled", 0) > 100
    assert c.get("sent", 0) + c["cancelled"] == 200


async def test_client_added_during_active_mailing_gets_message(
    store: Store, sim: GatewaySimulator
) -> None:
    add_clients(store, 5, tag="vip")
    store.create_mailing(
        now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hi", tags=["vip"]
    )
    async with Running(store, config(sim)):
        await until(lambda: counts(store).get("sent") == 5)
        late = store.create_client("79991234567", "vip")
        store.create_client("79991234568", "other")
        await until(lambda: counts(store).get("sent") == 6, timeout=3)
    assert late.id in {r[1] for r in rows(store)}
    assert sim.accepted_total == 6


async def test_stop_hands_unanswered_messages_back(store: Store, sim: GatewaySimulator) -> None:
    sim.config.latency_ms = 3000
    add_clients(store, 10)
    store.create_mailing(now() - timedelta(seconds=1), now() + timedelta(minutes=5), "hi")
    run = Running(store, config(sim, concurrency=4, timeout=10, stop_grace=0.5))
    async with run:
        await until(lambda: run.sender.in_flight == 4)
    # Requests in flight got a grace period, then went back to pending uncharged.
    c = counts(store)
    assert c.get("sending", 0) == 0
    assert c.get("pending", 0) == 10
    assert all(r[3] == 0 for r in rows(store))
    assert store.lease_holder(ttl=5) is None


async def test_future_start_is_on_time_while_another_mailing_saturates(
    store: Store, sim: GatewaySimulator
) -> None:
    sim.config.latency_ms = 100
    add_clients(store, 400, tag="bulk")
    add_clients(store, 5, tag="late", base=1000)
    store.create_mailing(
        now() - timedelta(seconds=1), now() + timedelta(minutes=5), "bulk", tags=["bulk"]
    )
    start = now() + timedelta(seconds=1.5)
    late = store.create_mailing(start, start + timedelta(minutes=5), "late", tags=["late"])
    async with Running(store, config(sim, concurrency=4)):
        await until(lambda: store.get_mailing(late.id).by_status.get("sent", 0) == 5, timeout=6)
        bulk_left = counts(store).get("pending", 0)
    assert bulk_left > 100  # the first mailing was still busy all along
    first = store.db.execute_sql(
        "SELECT MIN(sent_at) FROM message WHERE mailing_id = ?", (late.id,)
    ).fetchone()[0]
    assert start.timestamp() <= first < start.timestamp() + 1.5
