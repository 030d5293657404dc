"""The daemon's own stop bounds, on a real store: each layer gives up in time.

The subprocess tests (test_daemon_stop_bound.py) show the whole stop; these
show the two in-process layers on their own: a sender whose stop never ends
is cancelled after ``timeout``, and a store whose thread is stuck in SQLite's
busy wait is left unclosed after the budget instead of holding the exit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.ops.shutdown import StopResult, close_store, count_sending, stop_sender

pytestmark = pytest.mark.timeout(60)


async def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_clean_stop_is_clean(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        sender = Sender(store, SenderConfig(base_url="http://127.0.0.1:9/v1", token="t"))
        task = asyncio.create_task(sender.run())
        await until(lambda: sender.is_holder)
        assert await stop_sender(sender, task, timeout=5) is StopResult.CLEAN
        assert store.lease_holder(ttl=60) is None
    finally:
        store.close()


async def test_a_stop_that_never_ends_is_cancelled_in_time(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        sender = Sender(store, SenderConfig(base_url="http://127.0.0.1:9/v1", token="t"))
        task = asyncio.create_task(sender.run())
        await until(lambda: sender.is_holder)
        never = asyncio.Event()

        async def stuck_stop() -> None:
            await never.wait()  # as if every write it needs waited forever

        sender.stop = stuck_stop  # type: ignore[method-assign]
        started = time.monotonic()
        assert await stop_sender(sender, task, timeout=0.5) is StopResult.TIMED_OUT
        assert time.monotonic() - started < 3.0
        assert task.done()  # cancelled, not left running (no more heartbeats)
    finally:
        store.close()


async def test_a_store_stuck_on_a_foreign_lock_is_left_unclosed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(db)
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        # A write on the store's thread now waits out the busy timeout (10 s).
        stuck = asyncio.ensure_future(store.run(store.heartbeat, "nobody", datetime.now(UTC)))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        assert await close_store(store, budget=0.5) is False
        assert time.monotonic() - started < 2.0
        # Reads beside the lock still work: the count of what is left is known.
        assert count_sending(db) == 0
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    await asyncio.wait_for(stuck, 15)  # the write goes through once the lock is gone...
    await until(lambda: can_open(tmp_path / "next.db"))  # ...and the close, so one may reopen


def can_open(path: Path) -> bool:
    """Whether a store opens now (one open store per process: the last one closed)."""
    try:
        Store(path).close()
    except RuntimeError:
        return False
    return True
