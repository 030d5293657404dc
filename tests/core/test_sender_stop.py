"""A stop is bounded whatever the store does: another process holds the write lock.

Real time here: the lock is a real SQLite write lock taken by a second
connection to the file (what another process's long import does), and the
bound under test is the wall time ``stop()`` takes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.core.test_sender import add_clients, counts, until

pytestmark = pytest.mark.timeout(60)

STOP_TIMEOUT = 1.5


@pytest.fixture
async def sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(latency_ms=50, seed=11))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def real_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "store.db", default_timezone="Europe/Moscow")
    yield store
    store.close()


# SQLite only: the file's one writer, held by a second connection's BEGIN IMMEDIATE.
# PostgreSQL has no store-wide write lock to hold (row locks, SKIP LOCKED).
async def test_stop_is_bounded_while_another_process_holds_the_write_lock(
    real_store: Store,
    sim: GatewaySimulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="notifier_tui")
    store = real_store
    add_clients(store, 100)
    now = datetime.now(UTC)
    store.create_mailing(now - timedelta(seconds=1), now + timedelta(hours=1), "hi")
    cfg = SenderConfig(
        base_url=sim.base_url,
        token="t",
        concurrency=4,
        timeout=2.0,
        lease_ttl=5.0,
        poll_interval=0.2,
        stop_grace=0.3,
        stop_timeout=STOP_TIMEOUT,
    )
    sender = Sender(store, cfg)
    task = asyncio.create_task(sender.run())
    await until(lambda: sender.sent_total >= 10)
    lock = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")  # held far longer than the stop may take
        await asyncio.sleep(0.1)  # answers in flight come back and wait to be written
        started = time.monotonic()
        await asyncio.wait_for(sender.stop(), 10)
        took = time.monotonic() - started
        await asyncio.wait_for(task, 1)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert took < STOP_TIMEOUT + 0.5
    assert "stay 'sending' until the next start recovers them" in caplog.text
    assert "the lease could not be released in time" in caplog.text
    # The writes left behind land once the lock is gone, or the next start recovers them:
    # nothing is lost and nothing was sent twice.
    await store.run(lambda: None)
    store.close()
    restarted = Store(tmp_path / "store.db", default_timezone="Europe/Moscow")
    try:
        restarted.recover_sending()  # what the next start does first
        c = counts(restarted)
    finally:
        restarted.close()
    assert set(c) <= {"pending", "sent"} and sum(c.values()) == 100
    assert sim.duplicates == {}
