"""A credentials stop is shared through the store: one refusal stops every sender.

Two real daemons on one store: A sends, B stands by. The gateway refuses the
token: A stops and sets the store's flag, and B (which has not sent a request)
stops too within about a second. With the token fixed at the gateway but
probes far apart, nothing is sent, even after A is killed and B takes over:
the flag still holds. ``notifier-tui sender resume`` clears it and B sends
everything (issue 9.6, issue 11's credentials item).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notifier_tui.core.store import control as store_control
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.ops.daemonproc import TOKEN, counts, daemon_env, log_text, seeded, spawn, stop, until

pytestmark = pytest.mark.timeout(120)

SLOW_PROBES = {"NOTIFIER_CREDENTIALS_PROBE_INTERVAL": "3600", "NOTIFIER_RATE_LIMIT": "50"}


@pytest.fixture
async def refusing_sim() -> AsyncIterator[GatewaySimulator]:
    simulator = GatewaySimulator(SimulatorConfig(token="another-token", seed=3))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def _cli(tmp_path: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notifier_tui", "--db", str(db), "sender", *args],
        env=daemon_env(tmp_path, "cli"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def test_one_refusal_stops_every_sender_and_the_cli_resumes_them(
    tmp_path: Path, refusing_sim: GatewaySimulator, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "store.db"
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    store = stack.enter_context(seeded(db, 200))
    control = store_control.for_store(store)
    a = spawn(tmp_path, db, refusing_sim.base_url, "a", env=SLOW_PROBES)
    b: subprocess.Popen[bytes] | None = None
    try:
        await until(lambda: store.lease_holder(ttl=1) is not None, timeout=20)
        b = spawn(tmp_path, db, refusing_sim.base_url, "b", env=SLOW_PROBES)
        await until(lambda: "sending is done by daemon" in log_text(tmp_path, "b"), timeout=20)
        requests_before = refusing_sim.requests

        await until(lambda: control.credentials_stop() is not None, timeout=20)
        flagged = time.monotonic()
        flag = control.credentials_stop()
        assert flag is not None and "401" in flag.reason
        assert flag.by == f"daemon pid {a.pid} on {socket.gethostname()}"
        await until(lambda: "saw the token refused" in log_text(tmp_path, "b"), timeout=5)
        assert time.monotonic() - flagged < 2.5  # about a second, not a restart

        status = _cli(tmp_path, db, "status", "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["credentials_stop"]["by"] == flag.by
        assert sorted(w["pid"] for w in doc["workers"]) == sorted([a.pid, b.pid])
        assert TOKEN not in status.stdout

        refusing_sim.config.token = TOKEN  # fixed at the gateway; the probes are an hour apart
        code, _ = stop(a, signal.SIGKILL)
        assert code == -signal.SIGKILL
        await until(lambda: "sender lease acquired" in log_text(tmp_path, "b"), timeout=20)
        await asyncio.sleep(2.0)
        assert counts(store).get("sent", 0) == 0  # the flag holds for the new holder too
        assert refusing_sim.accepted_total == 0
        assert refusing_sim.requests - requests_before < 30

        resumed = _cli(tmp_path, db, "resume")
        assert resumed.returncode == 0, resumed.stderr
        assert "resumed every sender" in resumed.stdout and flag.by in resumed.stdout
        assert control.credentials_stop() is None
        await until(lambda: counts(store).get("sent", 0) == 200, timeout=30)
        again = _cli(tmp_path, db, "resume", "--json")
        assert json.loads(again.stdout) == {"resumed": False, "stop": None}
    finally:
        for proc in (a, b):
            if proc is not None:
                stop(proc)
    assert "credentials stop cleared in the store" in log_text(tmp_path, "b")
    assert refusing_sim.duplicates == {}
