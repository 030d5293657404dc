"""The daemon's stop is bounded even when the store cannot be written.

Before, SIGTERM with the store unwritable hung: the final write raised, the
stop aborted before cancelling the jobs, and the lease kept being renewed
until systemd killed the process. Now it exits within ``stop_timeout`` plus a
second or two, logs what it could not write, and what it could not write is
still ``sending``, so the next start recovers it.
"""

from __future__ import annotations

import contextlib
import re
import resource
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from notifier_tui.core.store import Store
from notifier_tui.ops.shutdown import HARD_EXIT_MARGIN, HardDeadline
from notifier_tui.sim.simulator import GatewaySimulator, SimulatorConfig
from tests.ops.daemonproc import counts, log_text, seeded, spawn, stop, until

pytestmark = pytest.mark.timeout(120)

STOP_TIMEOUT = 3.0
BOUND = STOP_TIMEOUT + HARD_EXIT_MARGIN + 1.0
"""Seconds from SIGTERM to exit at most: the stop, the store's close, the hard deadline."""
ENV = {"NOTIFIER_RATE_LIMIT": "40", "NOTIFIER_STOP_TIMEOUT": str(STOP_TIMEOUT)}


@pytest.fixture
async def slow_sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(latency_ms=300, seed=7))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with seeded(tmp_path / "store.db", 300) as opened:
        yield opened


@contextlib.contextmanager
def foreign_write_lock(db: Path, hold: float = 40.0) -> Iterator[None]:
    """Another connection holds the store's write lock for ``hold`` s (or until the block ends)."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    released = threading.Event()
    timer = threading.Timer(hold, released.set)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        conn.execute("ROLLBACK")
        conn.close()


def timed_stop(proc: subprocess.Popen[bytes]) -> tuple[int, str, float]:
    started = time.monotonic()
    code, err = stop(proc, signal.SIGTERM)
    return code, err, time.monotonic() - started


async def recovered_by_next_start(tmp_path: Path, store: Store, base_url: str) -> str:
    """Start a second daemon: it takes the lease and puts the stranded claims back."""
    proc = spawn(tmp_path, store.path, base_url, "next", env=ENV)
    try:
        await until(lambda: "interrupted message(s) back to pending" in log_text(tmp_path, "next"))
        await until(lambda: counts(store).get("sending", 0) < 20, timeout=10)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    return log_text(tmp_path, "next")


async def test_sigterm_under_a_foreign_write_lock_exits_within_the_bound(
    tmp_path: Path, store: Store, slow_sim: GatewaySimulator
) -> None:
    proc = spawn(tmp_path, store.path, slow_sim.base_url, "a", env=ENV)
    try:
        await until(lambda: counts(store).get("sent", 0) >= 10)
        await until(lambda: counts(store).get("sending", 0) > 0, timeout=5)
    except BaseException:
        stop(proc)
        raise
    with foreign_write_lock(store.path):
        time.sleep(1.0)  # the daemon's writes now wait on the lock
        code, err, took = timed_stop(proc)
        stranded = counts(store).get("sending", 0)
    print(f"stop under a write lock took {took:.2f}s")
    assert took < BOUND, f"stop took {took:.1f}s\n{err[-3000:]}"
    assert code == 1, err[-3000:]
    assert "stay 'sending' and go back to pending when a sender next starts" in err
    assert stranded > 0  # the claims were not handed back: the store refused every write
    text = await recovered_by_next_start(tmp_path, store, slow_sim.base_url)
    found = re.search(r"(\d+) interrupted message\(s\) back to pending", text)
    assert found is not None and int(found.group(1)) >= stranded


async def test_sigterm_with_the_disk_full_exits_within_the_bound(
    tmp_path: Path, store: Store, slow_sim: GatewaySimulator
) -> None:
    proc = spawn(tmp_path, store.path, slow_sim.base_url, "a", env=ENV)
    try:
        await until(lambda: counts(store).get("sent", 0) >= 10)
        await until(lambda: counts(store).get("sending", 0) > 0, timeout=5)
        # A full disk for that process alone: with RLIMIT_FSIZE at 1 byte every write
        # to a file (store, WAL, log file) fails; Python ignores SIGXFSZ, so the
        # writes return EFBIG and SQLite reports an I/O error or "disk is full".
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (1, 1))
    except BaseException:
        stop(proc)
        raise
    time.sleep(1.0)  # the daemon's writes now fail
    code, err, took = timed_stop(proc)
    print(f"stop with the disk full took {took:.2f}s")
    assert took < BOUND, f"stop took {took:.1f}s\n{err[-3000:]}"
    assert code == 1, err[-3000:]
    # The writes fail at once (no busy wait), so the sender's own stop ends in time.
    assert "message(s) stay 'sending' and go back to pending when a sender next starts" in err
    assert "disk" in err.lower() or "i/o" in err.lower(), err[-3000:]  # the writes failed
    assert counts(store).get("sending", 0) > 0
    await recovered_by_next_start(tmp_path, store, slow_sim.base_url)


def test_hard_deadline_ends_the_process_with_its_code() -> None:
    exits: list[int] = []
    fired = threading.Event()

    def record(code: int) -> None:
        exits.append(code)
        fired.set()

    deadline = HardDeadline(0.0, 1, exit=record)
    deadline.arm()
    deadline.arm()  # once only
    assert fired.wait(5)
    assert exits == [1] and deadline.fired


def test_a_disarmed_hard_deadline_never_fires() -> None:
    exits: list[int] = []
    deadline = HardDeadline(30.0, 1, exit=exits.append)
    deadline.arm()
    deadline.disarm()
    assert deadline._timer is not None
    deadline._timer.join(5)
    assert exits == [] and not deadline.fired
