"""SIGHUP stops the daemon like SIGTERM: a log line, the lease released, no claim left behind.

A daemon started by hand over SSH gets SIGHUP when the session ends; before,
it died on the spot. One case sends the signal; the other ends the terminal
itself (a pty whose master is closed), as an SSH logout does, so the daemon
also loses its stderr.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import termios
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.ops.daemonproc import TOKEN, counts, log_text, seeded, spawn, stop, until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def slow_sim() -> AsyncIterator[GatewaySimulator]:
    # Answers take 300 ms, so requests are in flight when the signal comes.
    simulator = GatewaySimulator(SimulatorConfig(latency_ms=300, seed=5))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def _take_terminal() -> None:
    # Runs in the child after setsid(): the pty on stdin becomes its controlling
    # terminal, so closing the master hangs up this session as an SSH logout does.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def test_sighup_stops_like_sigterm(
    tmp_path: Path, slow_sim: GatewaySimulator, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "store.db"
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    store = stack.enter_context(seeded(db, 400))
    proc = spawn(tmp_path, db, slow_sim.base_url, "a", env={"NOTIFIER_RATE_LIMIT": "40"})
    try:
        await until(lambda: counts(store).get("sent", 0) >= 10)
        await until(lambda: counts(store).get("sending", 0) > 0, timeout=5)
    finally:
        code, err = stop(proc, signal.SIGHUP)
    assert code == 0, err
    assert "SIGHUP received: stopping" in err
    assert "sender stopped; lease released" in err
    assert "daemon stopped" in log_text(tmp_path, "a")
    left = counts(store)
    assert left.get("sending", 0) == 0, left  # in-flight claims went back to pending
    assert left.get("pending", 0) > 0 and left.get("sent", 0) < 400
    assert store.lease_holder(ttl=60) is None


async def test_terminal_hang_up_stops_cleanly(
    tmp_path: Path, slow_sim: GatewaySimulator, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "store.db"
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    store = stack.enter_context(seeded(db, 400))
    master, slave = os.openpty()
    try:
        proc = spawn(
            tmp_path,
            db,
            slow_sim.base_url,
            "a",
            env={"NOTIFIER_RATE_LIMIT": "40"},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
    finally:
        os.close(slave)
    try:
        os.set_blocking(master, False)

        def sending() -> bool:
            with contextlib.suppress(BlockingIOError):  # drained, as a terminal would be
                os.read(master, 65536)
            return counts(store).get("sent", 0) >= 10 and counts(store).get("sending", 0) > 0

        await until(sending)
        assert proc.poll() is None
    finally:
        os.close(master)  # the session ends: the kernel sends SIGHUP to the daemon
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    text = log_text(tmp_path, "a")
    assert code == 0, text[-2000:]
    assert "SIGHUP received: stopping" in text
    assert "sender stopped; lease released" in text
    assert "daemon stopped" in text
    assert TOKEN not in text
    left = counts(store)
    assert left.get("sending", 0) == 0, left
    assert store.lease_holder(ttl=60) is None
