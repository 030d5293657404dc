"""``--daemon --workers 2``: two supervised sender processes on one store.

Real subprocesses all the way: the supervisor, its two children, the
simulator on 127.0.0.1. A child killed with -9 is started again; SIGTERM to
the supervisor stops both children cleanly and it exits 0. On SQLite one
child sends and the other stands by: when the sender is the one killed, the
other takes over and every message is sent (a request in flight at the kill may be resent, under
its own id, as after any kill -9).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notifier_tui.core.store import workers as registry
from notifier_tui.ops.supervisor import child_argv
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.ops.daemonproc import counts, log_text, seeded, spawn, stop, until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(latency_ms=50, seed=2))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_child_argv_drops_workers() -> None:
    argv = child_argv(["--db", "x.db", "--daemon", "--workers", "3", "--workers=4", "-v"])
    assert argv[1:] == ["-m", "notifier_tui", "--db", "x.db", "--daemon", "-v"]


async def test_two_workers_restart_and_stop(
    tmp_path: Path, sim: GatewaySimulator, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "store.db"
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    store = stack.enter_context(seeded(db, 1500))
    reg = registry.for_store(store)
    proc = spawn(
        tmp_path, db, sim.base_url, "s", args=["--workers", "2"], env={"NOTIFIER_RATE_LIMIT": "150"}
    )
    try:
        await until(lambda: len(children(proc.pid)) == 2, timeout=20)
        first = children(proc.pid)
        await until(lambda: len(reg.live(5.0)) == 2, timeout=20)
        rows = reg.live(5.0)
        assert sorted(r.pid for r in rows) == sorted(first)
        assert [r.leader for r in rows] == [True, False]  # SQLite: one sends, one stands by
        leader = rows[0].pid
        await until(lambda: counts(store).get("sent", 0) >= 100, timeout=20)

        os.kill(leader, signal.SIGKILL)  # the one that sends
        await until(
            lambda: len(children(proc.pid)) == 2 and leader not in children(proc.pid), timeout=20
        )
        restarted = (set(children(proc.pid)) - set(first)).pop()
        await until(lambda: counts(store).get("sent", 0) == 1500, timeout=60)
        now = {r.pid: r for r in reg.live(5.0)}
        assert restarted in now and leader not in now
        assert sum(r.leader for r in now.values()) == 1
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert children(proc.pid) == []
    assert "exited -9" in err and "restarting in 1s" in err
    assert "worker=1 " in err and "worker=2 " in err  # each line says which worker wrote it
    assert "SIGTERM: stopping 2 workers" in err and "supervisor stopped (exit status 0)" in err
    assert err.count("daemon stopped (exit status 0)") == 2
    assert "worker=" in (tmp_path / "log-s" / "notifier.worker-1.log").read_text()
    assert "supervisor starting 2 workers" in log_text(tmp_path, "s")
    assert counts(store) == {"sent": 1500}
    ids = {r[0] for r in store.db.execute_sql("SELECT id FROM message").fetchall()}
    assert set(sim.accepted) == ids  # one id per client, each reached the gateway
    # Only what the killed child had in flight may be resent, under its own id.
    assert len(sim.duplicates) <= 16
    assert reg.live(3600.0) == []  # both stopped cleanly and took their rows away
