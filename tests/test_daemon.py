"""``notifier-tui --daemon`` as a real subprocess: signals, kill -9, two senders on one store."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.ops.daemonproc import counts, seed, spawn, stop, until
from tests.simfixtures import SimulatorFactory, make_simulator  # noqa: F401

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def sim(make_simulator: SimulatorFactory) -> GatewaySimulator:  # noqa: F811
    return await make_simulator(SimulatorConfig(latency_ms=100, seed=3))


async def test_sigterm_stops_cleanly_and_logs_without_token(
    tmp_path: Path, sim: GatewaySimulator
) -> None:
    db = tmp_path / "store.db"
    store = seed(db, 30)
    proc = spawn(tmp_path, db, sim.base_url, "a")
    try:
        await until(lambda: counts(store).get("sent") == 30)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert "secret-token-value" not in err
    log_text = (tmp_path / "log-a" / "notifier.log").read_text()
    assert "secret-token-value" not in log_text
    assert "mailing=1" in log_text
    assert store.lease_holder(ttl=5) is None
    store.close()


async def test_kill_9_mid_send_then_restart_loses_nothing(
    tmp_path: Path, sim: GatewaySimulator, backend: str, request: pytest.FixtureRequest
) -> None:
    """On both backends (``backend``, tests/backends.py): a file, or a fresh database
    that ``--db postgresql://...`` names, where each daemon claims its own messages."""
    db = tmp_path / "store.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    store = seed(db, 300)
    first = spawn(tmp_path, db, sim.base_url, "a")
    try:
        await until(lambda: counts(store).get("sent", 0) >= 30)
        await until(lambda: counts(store).get("sending", 0) > 0, timeout=5)
    finally:
        first.kill()  # SIGKILL: no chance to hand anything back
        first.communicate()
    assert counts(store).get("sent", 0) < 300
    second = spawn(tmp_path, db, sim.base_url, "b")
    try:
        await until(lambda: counts(store).get("sent") == 300, timeout=60)
    finally:
        code, err = stop(second)
    assert code == 0, err
    ids = [r[0] for r in store.db.execute_sql("SELECT id FROM message").fetchall()]
    clients = store.db.execute_sql("SELECT COUNT(DISTINCT client_id) FROM message").fetchone()[0]
    assert len(ids) == 300 and clients == 300  # one message id per client, ever
    assert set(sim.accepted) == set(ids)  # every id reached the gateway
    # A message in flight at the kill may be accepted twice, but only under its own id.
    assert set(sim.duplicates) <= set(ids)
    assert len(sim.duplicates) <= 16
    store.close()


# SQLite only: one sender per file. On PostgreSQL every daemon sends beside the
# others (tests/pg/test_workers_pg.py).
async def test_second_daemon_on_same_store_does_not_send(
    tmp_path: Path, sim: GatewaySimulator
) -> None:
    db = tmp_path / "store.db"
    store = seed(db, 200)
    first = spawn(tmp_path, db, sim.base_url, "a")
    await until(lambda: store.lease_holder(ttl=5) is not None, timeout=10)
    second = spawn(tmp_path, db, sim.base_url, "b")
    standby_log = tmp_path / "log-b" / "notifier.log"
    try:
        await until(lambda: counts(store).get("sent") == 200)
        # Stop it only once it is up (its signal handlers installed) and standing by.
        await until(
            lambda: standby_log.exists() and "sending is done by" in standby_log.read_text(),
            timeout=20,
        )
        holder = store.lease_holder(ttl=5)
        assert holder is not None and holder.pid == first.pid
    finally:
        code_b, err_b = stop(second)
        code_a, _ = stop(first)
    assert code_a == 0 and code_b == 0
    assert f"sending is done by daemon pid {first.pid}" in err_b
    assert "lease acquired" not in err_b
    assert sim.duplicates == {}
    store.close()
