"""The sender lease under trouble: a blocked store, a lease that moves to another process.

Real parts throughout: the gateway simulator on 127.0.0.1, SQLite files in
``tmp_path``, two senders on two stores of one file for "another process".
The senders run on fake time (``tests/fakeclock.py``); a store thread is
blocked for real, by a store call that waits on a :class:`threading.Event`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notifier_tui.core import events as ev
from notifier_tui.core.sending.gateway import GatewayClient, GatewayResult
from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.core.conftest import FakeClock, both_backends, message_rows
from tests.core.test_sender import add_clients, counts, until
from tests.fakeclock import tick

pytestmark = pytest.mark.timeout(60)


class CountingStore(Store):
    """A real store that counts the heartbeats it runs."""

    heartbeats = 0

    def heartbeat(self, owner: str, now: datetime | None = None) -> bool:
        self.heartbeats += 1
        return super().heartbeat(owner, now)


class RecordingGateway(GatewayClient):
    """The real client, noting on the fake clock when each request starts."""

    def __init__(self, clock: FakeClock, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.starts: list[datetime] = []

    async def send(self, msg_id: int, phone: str | int, text: str) -> GatewayResult:
        self.starts.append(self.clock())
        return await super().send(msg_id, phone, text)


@pytest.fixture
async def sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(latency_ms=10, seed=5))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def counting(tmp_path: Path, clock: FakeClock) -> Iterator[CountingStore]:
    store = CountingStore(tmp_path / "store.db", clock=clock, default_timezone="Europe/Moscow")
    yield store
    store.close()


def config(sim: GatewaySimulator, **overrides: Any) -> SenderConfig:
    base: dict[str, Any] = {
        "base_url": sim.base_url,
        "token": "t",
        "concurrency": 4,
        "timeout": 2.0,
        "lease_ttl": 1.0,  # renewals every 0.2 s; sending stops 0.6 s after the last one
        "poll_interval": 0.2,
        "takeover_grace": 2.0,
    }
    base.update(overrides)
    return SenderConfig(**base)


class Blocker:
    """Holds a store's thread in one call until released, like a long foreign write."""

    def __init__(self, store: Store) -> None:
        self._gate = threading.Event()
        self._call = asyncio.ensure_future(store.run(self._gate.wait, 30))

    async def release(self) -> None:
        self._gate.set()
        await self._call


async def start(sender: Sender) -> asyncio.Task[None]:
    return asyncio.create_task(sender.run())


async def finish(sender: Sender, task: asyncio.Task[None], clock: FakeClock) -> None:
    stopping = asyncio.create_task(sender.stop())
    await tick(clock, 30, step=0.1, until=stopping.done)
    await asyncio.wait_for(stopping, 10)
    await asyncio.wait_for(task, 10)


async def test_a_blocked_store_gets_one_heartbeat_and_sending_waits_for_it(
    counting: CountingStore,
    sim: GatewaySimulator,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = counting
    add_clients(store, 200)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(hours=1), "hi")
    gateway = RecordingGateway(clock, sim.base_url, "t", timeout=2, max_connections=4)
    sender = Sender(store, config(sim), gateway=gateway, timer=clock)
    task = await start(sender)
    try:
        await tick(clock, 5, until=lambda: sender.sent_total >= 20)
        blocker = Blocker(store)
        beats = store.heartbeats
        # Five fake seconds, twenty-five renewal intervals, with the store stuck.
        await tick(clock, 5)
        assert not sender.keeper.may_send()
        assert "lease renewal is late" in caplog.text
        started = len(gateway.starts)
        await tick(clock, 1)
        assert len(gateway.starts) == started  # suspended: nothing starts
        assert store.heartbeats == beats  # the store ran none of them yet
        await blocker.release()
        await until(lambda: store.heartbeats > beats)
        await asyncio.sleep(0.2)  # real time, fake time stands: no pile of heartbeats behind
        assert store.heartbeats == beats + 1
        assert sender.keeper.may_send()  # the renewal landed: sending resumes by itself
        await tick(clock, 30, until=lambda: counts(store).get("sent") == 200)
    finally:
        await finish(sender, task, clock)
        await gateway.aclose()
    assert counts(store) == {"sent": 200}
    assert sim.duplicates == {}


# SQLite only: "another process" is a plain sqlite3 connection to the file (``raw``).
async def test_losing_the_lease_mid_run_stops_sending_returns_claims_sends_nothing_twice(
    store: Store,
    raw: sqlite3.Connection,
    sim: GatewaySimulator,
    clock: FakeClock,
) -> None:
    """Another process (this test, on its own connection) takes the lease A let lapse.

    It does what a new holder does in its take-over grace: holds the lease and
    waits before recovering. A must stop, hand back its claims and write its
    answers; then the other process goes away and A, standing by, sends the rest.
    """
    add_clients(store, 300)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(hours=1), "hi")
    gateway = RecordingGateway(clock, sim.base_url, "t", timeout=2, max_connections=4)
    sender = Sender(store, config(sim), gateway=gateway, timer=clock)
    events: list[ev.Event] = []
    sender.add_listener(events.append)
    task = await start(sender)
    try:
        await tick(clock, 5, until=lambda: sender.sent_total >= 30)
        blocker = Blocker(store)  # A's store stalls: its renewals stop landing
        await tick(clock, 1.2)
        assert not sender.keeper.may_send()
        ((beat,),) = raw.execute("SELECT heartbeat_at FROM lease").fetchall()
        assert beat < (clock() - timedelta(seconds=1.0)).timestamp()  # expired for everyone
        held = raw.execute("SELECT COUNT(*) FROM message WHERE status = 'sending'").fetchone()
        assert held[0] > 0  # A holds claims it cannot write back while its store stalls
        suspended_at = datetime.fromtimestamp(beat, UTC) + timedelta(seconds=0.6)
        raw.execute("UPDATE lease SET owner = 'other', heartbeat_at = ?", (clock().timestamp(),))
        await blocker.release()
        await until(lambda: ev.LeaseChanged(False, None) in events)
        await until(lambda: sender.in_flight == 0 and len(sender.outcomes) == 0)
        assert not sender.is_holder
        assert counts(store).get("sending", 0) == 0  # every claim handed back
        sent_by_a = counts(store)["sent"]
        assert sent_by_a == sim.accepted_total  # every answer A had is written
        assert gateway.starts and max(gateway.starts) < suspended_at  # none after the deadline
        await tick(clock, 3)
        assert counts(store)["sent"] == sent_by_a  # A stands by while another holds the lease
        raw.execute("DELETE FROM lease")  # the other process stops
        await tick(clock, 30, until=lambda: counts(store).get("sent") == 300)
        assert ev.LeaseChanged(True, None) in events[events.index(ev.LeaseChanged(False, None)) :]
    finally:
        await finish(sender, task, clock)
        await gateway.aclose()
    assert sim.duplicates == {}
    assert sorted(sim.accepted) == list(range(1, 301))


@both_backends
async def test_taking_over_a_lapsed_lease_waits_its_grace_before_recovering(
    store: Store,
    sim: GatewaySimulator,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A holder that stopped beating left messages ``sending``: they wait out the grace.

    What a holder killed with -9 leaves behind, recovered in process (the kill
    itself, of a real daemon, is tests/test_daemon.py's); on both backends.
    """
    caplog.set_level(logging.INFO, logger="notifier_tui")
    add_clients(store, 20)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(hours=1), "hi")
    store.materialize_due()
    store.acquire_lease("old", 1, "elsewhere", "daemon", 1.0)
    claimed = store.claim_due(limit=5)  # the old holder's requests in flight
    clock.advance(seconds=5)  # it has not beaten since
    sender = Sender(store, config(sim, takeover_grace=2.0), timer=clock)
    task = await start(sender)
    try:
        await until(lambda: "taking over from another process" in caplog.text)
        await tick(clock, 1.9)
        # The old holder's answers may still come: its messages are left alone meanwhile.
        assert counts(store) == {"pending": 15, "sending": 5}
        assert sim.requests == 0
        await tick(clock, 10, until=lambda: counts(store).get("sent") == 20)
    finally:
        await finish(sender, task, clock)
    assert "5 interrupted message(s) back to pending" in caplog.text
    assert sorted(sim.accepted) == sorted(r["id"] for r in message_rows(store))
    assert {c.id for c in claimed} <= set(sim.accepted)
