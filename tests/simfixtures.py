"""Gateway simulator fixtures to share between test modules.

Import the ones a module needs (pytest finds fixtures by name in the module)::

    from tests.simfixtures import simulator, threaded_simulator  # noqa: F401

- ``simulator``: a started :class:`GatewaySimulator` with the default config on
  a free 127.0.0.1 port, on the test's own event loop; stopped afterwards.
- ``threaded_simulator``: the same on its own loop in a daemon thread (a
  :class:`ThreadedSimulator`), for synchronous tests or to keep the simulator's
  work off the loop under test.

Both are function-scoped, so every test starts with zeroed counters and the
default config, which it may change freely (``simulator.config.fail_rate = 1``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from notifier_tui.sim import GatewaySimulator, ThreadedSimulator, start_in_thread

__all__ = ["simulator", "threaded_simulator"]


@pytest.fixture
async def simulator() -> AsyncIterator[GatewaySimulator]:
    """A started simulator with the default config on a free loopback port."""
    sim = GatewaySimulator()
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
def threaded_simulator() -> Iterator[ThreadedSimulator]:
    """A started simulator on its own event loop thread."""
    threaded = start_in_thread()
    try:
        yield threaded
    finally:
        threaded.stop()
