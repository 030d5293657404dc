"""The sender and the store-wide picture: its registry row, the shared credentials stop.

On fake time against the simulator on 127.0.0.1 and a real store: a SQLite
file, and a fresh PostgreSQL database (``@both_backends``). The flag set in
the store as another process would (core/store/control.py) stops this sender
within about a second; the UI's resume key (``resume_dispatch``) and a new
token each clear it for everyone; a refusal seen here sets it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest

from notifier_tui.core import events as ev
from notifier_tui.core.sending.claims import dead_here
from notifier_tui.core.store import Store
from notifier_tui.core.store import control as store_control
from notifier_tui.core.store import workers as registry
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.core.conftest import FakeClock, both_backends
from tests.core.test_sender import Running, add_clients, config, counts, ticking
from tests.simfixtures import SimulatorFactory, make_simulator  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sim(make_simulator: SimulatorFactory) -> GatewaySimulator:  # noqa: F811
    return await make_simulator(SimulatorConfig(seed=9))


def _mailing(store: Store, clock: FakeClock, n: int) -> None:
    add_clients(store, n)
    store.create_mailing(clock() - timedelta(seconds=1), clock() + timedelta(minutes=5), "hi")


@both_backends
async def test_a_flag_set_elsewhere_stops_and_the_resume_key_clears_it(
    store: Store, sim: GatewaySimulator, clock: FakeClock
) -> None:
    control = store_control.for_store(store)
    control.stop_for_credentials("HTTP 401 from the gateway", "daemon pid 1 on elsewhere")
    _mailing(store, clock, 30)
    cfg = config(sim, credentials_probe_interval=3600.0)
    async with Running(store, cfg, clock) as run:
        await ticking(clock, lambda: run.sender.credentials_error is not None, seconds=2)
        (rejected,) = run.of(ev.CredentialsRejected)
        assert rejected.reason == "HTTP 401 from the gateway (seen by daemon pid 1 on elsewhere)"
        # Stopped: three more seconds and not one request (the probes are an hour apart).
        with pytest.raises(AssertionError):
            await ticking(clock, lambda: sim.requests > 0, seconds=3)
        assert sim.requests == 0 and counts(store).get("sent", 0) == 0

        run.sender.resume_dispatch("resumed by user")  # the UI's r key
        await ticking(clock, lambda: control.credentials_stop() is None, seconds=2)
        await ticking(clock, lambda: counts(store).get("sent", 0) == 30)


@both_backends
async def test_a_refusal_here_sets_the_flag_and_a_new_token_clears_it(
    store: Store,
    make_simulator: SimulatorFactory,  # noqa: F811
    clock: FakeClock,
) -> None:
    sim = await make_simulator(SimulatorConfig(token="right", seed=2))
    control = store_control.for_store(store)
    _mailing(store, clock, 20)
    cfg = config(sim, token="wrong", credentials_probe_interval=3600.0)
    async with Running(store, cfg, clock) as run:
        await ticking(clock, lambda: control.credentials_stop() is not None, seconds=3)
        flag = control.credentials_stop()
        assert flag is not None and "401" in flag.reason
        assert flag.by == run.sender.fleet.describe()
        run.sender.set_token("right")  # a fixed token file or config
        await ticking(clock, lambda: control.credentials_stop() is None, seconds=2)
        await ticking(clock, lambda: counts(store).get("sent", 0) == 20)
        row = registry.for_store(store).get(run.sender.owner)
        assert row is not None and row.leader and row.sending
    # A clean stop takes the row away.
    assert registry.for_store(store).get(run.sender.owner) is None


def test_a_claim_owner_is_dead_only_when_this_host_says_so() -> None:
    host = socket.gethostname()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert dead_here(f"{host}:{child.pid}:ab12cd", host)
    assert not dead_here(f"{host}:{os.getpid()}:ab12cd", host)  # alive
    assert not dead_here(f"elsewhere:{child.pid}:ab12cd", host)  # another host: wait for expiry
    assert not dead_here("not-an-owner", host)
