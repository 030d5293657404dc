"""Three daemons on one PostgreSQL store, the leader killed with -9 mid-send (issue 11).

Real parts only: a throwaway PostgreSQL cluster, three ``notifier-tui --daemon``
subprocesses, the simulator on 127.0.0.1. Every daemon claims its own
messages (``FOR UPDATE SKIP LOCKED``); the lease is the leader's role. The
leader is killed with -9: another daemon becomes leader within the lease TTL,
the dead one's claims expire back to pending and are sent by the others with
the same ids. At the end every message is final, every client got exactly one
id at the gateway (a message in flight at the kill may be accepted twice under
that id), nothing went out after the end, each daemon sent a share, and the
store-wide rate limit held while three shared it.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notifier_tui.core.store import workers as registry
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.ops.daemonproc import counts, log_text, seeded, spawn, stop, until

pytestmark = pytest.mark.timeout(180)

RATE = 90.0
ENV = {"NOTIFIER_RATE_LIMIT": str(int(RATE)), "NOTIFIER_TIMEOUT": "2"}


@pytest.fixture
async def sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(latency_ms=100, seed=4))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def test_three_daemons_share_one_store(
    tmp_path: Path, pg_url: str, sim: GatewaySimulator, request: pytest.FixtureRequest
) -> None:
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    total = 2400
    store = stack.enter_context(seeded(pg_url, total))  # type: ignore[arg-type]
    reg = registry.for_store(store)
    procs = [spawn(tmp_path, pg_url, sim.base_url, f"d{i}", env=ENV) for i in range(3)]  # type: ignore[arg-type]
    sent_by: dict[int, int] = {}

    def look() -> list[registry.WorkerStatus]:
        rows = reg.live(3.0)
        for r in rows:
            sent_by[r.pid] = max(sent_by.get(r.pid, 0), int(r.figures.get("sent", 0)))
        return rows

    try:
        await until(lambda: sum(r.sending for r in look()) == 3, timeout=30)
        await until(lambda: counts(store).get("sent", 0) >= 200, timeout=30)
        await until(lambda: all(r.share is not None for r in look()), timeout=10)
        assert {round(r.share or 0, 1) for r in look()} == {round(RATE / 3, 1)}

        # The store-wide rate: three workers together, not three times the limit.
        before, started = counts(store).get("sent", 0), time.monotonic()
        await until(lambda: time.monotonic() - started >= 4.0, timeout=10)
        rate = (counts(store).get("sent", 0) - before) / (time.monotonic() - started)
        assert RATE * 0.7 <= rate <= RATE * 1.1, rate

        leader = next(r for r in look() if r.leader)
        victim = next(p for p in procs if p.pid == leader.pid)
        assert counts(store).get("sending", 0) > 0
        stop(victim, signal.SIGKILL)
        await until(lambda: any(r.leader and r.pid != leader.pid for r in look()), timeout=15)
        await until(lambda: counts(store).get("sent", 0) == total, timeout=120)
    finally:
        results = [stop(p) for p in procs if p.returncode is None]
    for code, err in results:
        assert code == 0, err
    assert counts(store) == {"sent": total}  # every message final
    ids = {r[0] for r in store.db.execute_sql("SELECT id FROM message").fetchall()}
    clients = store.db.execute_sql("SELECT COUNT(DISTINCT client_id) FROM message").fetchone()[0]
    assert len(ids) == total and clients == total
    assert set(sim.accepted) == ids  # one id per client, and each reached the gateway
    assert len(sim.duplicates) <= 16  # only what the killed one had in flight
    late = store.db.execute_sql(
        "SELECT COUNT(*) FROM message m JOIN mailing g ON g.id = m.mailing_id"
        " WHERE m.sent_at >= g.end_at"
    ).fetchone()[0]
    assert late == 0
    assert len(sent_by) == 3 and all(n > 0 for n in sent_by.values()), sent_by
    logs = [log_text(tmp_path, f"d{i}") for i in range(3)]
    assert all("this worker claims its own messages" in text for text in logs)
    survivors = [t for p, t in zip(procs, logs, strict=True) if p is not victim]
    # The dead leader's claims came back by expiry, and a survivor took the lead.
    assert any("given back to pending" in t for t in survivors)
    # Same host: the kernel says the killed one is gone, so its claims are due at once.
    assert any(f":{victim.pid}:" in t and "(process gone)" in t for t in survivors)
    assert any("this worker is the leader now" in t for t in survivors)
